"""Pix2Pix as a ``keras.Model``: a generator and a discriminator trained against each other.

The keras-io GAN recipe: the networks are built outside (``colorgan.models``) and passed in,
``compile`` takes one optimizer per network, ``train_step`` is two ``tf.GradientTape`` blocks
(discriminator, then generator), and ``fit`` gives progress bars, callbacks, ``tf.distribute``
and XLA for free. Losses (Isola et al., 2017, eq. 4):

    D: BCE(D(L, ab), 1) + BCE(D(L, G(L)), 0)       (halved, as in the paper, to slow D down)
    G: BCE(D(L, G(L)), 1) + l1_weight * |ab - G(L)|  (l1_weight = lambda = 100)

Options beyond the paper, all off by default: ``objective`` (``l1`` as in the paper, ``huber``,
``l2``, or ``classification`` over ab bins, see ``colorgan.objectives``), ``label_smoothing`` (real
target 1 - s), phases (``warmup_epochs`` of the generator alone, which never runs the discriminator;
then ``critic_epochs`` of the discriminator alone against the frozen generator, as DeOldify's NoGAN;
then the adversarial phase with ``adversarial_weight`` on the GAN term), an exponential moving
average of the generator's weights (``ema_decay``, what the run exports), mixed precision (build the networks under the ``mixed_float16``
policy and pass ``paper_optimizer(..., mixed_precision=True)``: each optimizer scales its own loss),
and XLA (``compile(..., jit_compile=True)``). Build and compile under a ``tf.distribute`` strategy's
scope to train on several GPUs; losses are divided by the replica count, gradients summed.

Decision (issue 20): the options that lost on the scoreboard (objectives other than ``l1``, the critic
phase) stay here, off by default, rather than in a wing of their own, for now. Their scoreboard rows are
the record of why they lost, and ``make scoreboard`` trains them again from ``params/recipes/``; moving
them behind a subclass is safe only once every recipe's traced step, metrics and checkpoint are shown
unchanged, which takes the scoreboard's hours of CPU again. In the product's step each is one Python
branch, taken once when the step is traced.
"""

import keras
import numpy as np
import tensorflow as tf

from colorgan import models, objectives

# The paper's settings (section 4 and its code): Adam, learning rate 2e-4, beta_1 0.5, lambda 100.
LEARNING_RATE = 2e-4
BETA_1 = 0.5
L1_WEIGHT = 100.0
# Losses a phase does not compute: the generator alone never runs the discriminator, the critic alone
# never updates the generator.
ABSENT_LOSSES = {"generator": ("gan_loss", "discriminator_loss"), "discriminator": ("generator_loss", "gan_loss"),
                 "adversarial": ()}


def paper_optimizer(learning_rate=LEARNING_RATE, mixed_precision=False):
    """Adam(learning_rate, beta_1=0.5); wrapped in a LossScaleOptimizer for float16 gradients."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=BETA_1)
    # Dynamic loss scaling keeps small float16 gradients from flushing to zero; each network gets
    # its own scale because their losses (and gradients) have different magnitudes.
    return keras.optimizers.LossScaleOptimizer(optimizer) if mixed_precision else optimizer


PHASES = ("generator", "discriminator", "adversarial")


class Pix2Pix(keras.Model):
    """Conditional GAN for colorization: ``fit`` on batches of (L, ab), both in [-1, 1].

    Args:
        generator: L (B, H, W, 1) -> ab (B, H, W, 2), tanh (or a classification head, see models).
        discriminator: [L, ab] -> logits (B, h, w, 1), one per patch.
        l1_weight: lambda, weight of the reconstruction term (L1 in the paper: 100) in the
            generator's loss during the adversarial phase; the generator-only phase uses the
            reconstruction term alone, unweighted by lambda only in scale.
        label_smoothing: the discriminator's target for real pairs is 1 - label_smoothing (0 in the
            paper; 0.1 is a common remedy when D wins too fast).
        warmup_epochs: generator-only epochs first (0 in the paper): the discriminator is not run.
        critic_epochs: then discriminator-only epochs against the frozen generator (DeOldify's NoGAN
            critic pre-training), so the adversarial phase starts with a critic that knows the fakes.
        objective: ``l1``, ``huber``, ``l2``, ``l1_rebalanced`` or ``classification`` (needs a
            classification generator).
        class_weights: (Q,) rebalancing weights over ``objectives.gamut_bins()`` for ``classification``
            and ``l1_rebalanced`` (default: all 1).
        adversarial_weight: weight of the GAN term in the generator's loss (1 in the paper).
        ema_decay: keep an exponential moving average of the generator's weights (0: off), e.g. 0.999.
        frozen_epochs, frozen_layers: ``frozen_layers`` (a pretrained encoder's) are not trained during the
            first ``frozen_epochs`` epochs.
    """

    def __init__(self, generator, discriminator, l1_weight=L1_WEIGHT, label_smoothing=0.0, warmup_epochs=0,
                 critic_epochs=0, objective="l1", class_weights=None, adversarial_weight=1.0, ema_decay=0.0,
                 frozen_epochs=0, frozen_layers=(), name="pix2pix", **kwargs):
        super().__init__(name=name, **kwargs)
        if l1_weight < 0:
            raise ValueError(f"l1_weight must be >= 0, got {l1_weight}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if warmup_epochs < 0 or critic_epochs < 0:
            raise ValueError(f"warmup_epochs and critic_epochs must be >= 0, got {warmup_epochs}, {critic_epochs}")
        if adversarial_weight < 0:
            raise ValueError(f"adversarial_weight must be >= 0, got {adversarial_weight}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.objective = objectives.check_objective(objective)
        self.generator = generator
        self.discriminator = discriminator
        self.centres = models.bin_centres(generator)
        if (self.objective == "classification") != (self.centres is not None):
            raise ValueError(f"objective {objective!r} does not fit this generator: classification needs a "
                             "generator built with bin_centres, the regression objectives a tanh one")
        if self.centres is not None:
            # One pass gives both the logits (the loss) and the decoded ab (the discriminator, L1).
            self.trainer = keras.Model(generator.input, [generator.get_layer("ab_logits").output, generator.output])
        self.weight_table = None
        if self.objective in objectives.REBALANCED:
            centres = self.centres if self.centres is not None else objectives.gamut_bins()
            weights = np.ones(len(centres)) if class_weights is None else np.asarray(class_weights)
            if weights.shape != (len(centres),):
                raise ValueError(f"class_weights must have one weight per bin ({len(centres)}), got "
                                 f"shape {weights.shape}")
            if self.centres is not None:
                self.class_weights = weights.astype("float32")
            else:
                self.weight_table = objectives.weight_table(centres, weights)
        self.l1_weight = float(l1_weight)
        self.label_smoothing = float(label_smoothing)
        self.warmup_epochs, self.critic_epochs = int(warmup_epochs), int(critic_epochs)
        self.adversarial_weight = float(adversarial_weight)
        self.ema_decay = float(ema_decay)
        # The moving average of every float weight of the generator (BatchNorm statistics included).
        self.ema_weights = [keras.Variable(weight.numpy(), trainable=False, name=f"ema_{index}",
                                           aggregation="only_first_replica")
                            for index, weight in enumerate(generator.weights)] if ema_decay else []
        # A pretrained encoder keeps what ImageNet taught while the decoder learns to read it: its layers are
        # not trained (BatchNorm in inference mode) for the first ``frozen_epochs``, then fine-tuned.
        if frozen_epochs < 0:
            raise ValueError(f"frozen_epochs must be >= 0, got {frozen_epochs}")
        self.frozen_epochs, self.frozen_layers = int(frozen_epochs), list(frozen_layers)
        self.frozen = False
        self.phase = self.phase_of(0)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="none")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.gan_loss_tracker = keras.metrics.Mean(name="gan_loss")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")
        self.objective_tracker = keras.metrics.Mean(name="objective_loss")

    @property
    def metrics(self):
        # Listed here so Keras resets them at the start of each epoch.
        trackers = [self.generator_loss_tracker, self.gan_loss_tracker, self.l1_tracker,
                    self.discriminator_loss_tracker]
        return trackers + ([self.objective_tracker] if self.objective != "l1" else [])

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Set both optimizers (default: the paper's Adam); ``jit_compile=True`` turns on XLA."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer or paper_optimizer()
        self.discriminator_optimizer = discriminator_optimizer or paper_optimizer()
        # Create the Adam moments now, in the strategy's scope, not lazily inside the first
        # (distributed, compiled) step, where MirroredStrategy cannot create variables.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def phase_of(self, epoch):
        """The phase of ``epoch`` (0-based): generator alone, then discriminator alone, then adversarial."""
        if epoch < self.warmup_epochs:
            return "generator"
        return "discriminator" if epoch < self.warmup_epochs + self.critic_epochs else "adversarial"

    def set_epoch(self, epoch):
        """Enter ``epoch``'s phase. Each phase is its own traced step (a generator-only step holds no
        discriminator at all), so a change of phase rebuilds the compiled train function."""
        phase = self.phase_of(epoch)
        frozen = bool(self.frozen_layers) and epoch < self.frozen_epochs
        if phase != self.phase or frozen != self.frozen:
            self.phase = phase
            if frozen != self.frozen:
                self.frozen = frozen
                for layer in self.frozen_layers:
                    layer.trainable = not frozen  # the step below differentiates trainable_variables only
            if self.train_function is not None:
                self.make_train_function(force=True)

    def _mean(self, per_example):
        """Mean over this replica's batch, in float32 (logits and tanh outputs are float32)."""
        return tf.reduce_mean(tf.cast(per_example, tf.float32))

    def _for_gradients(self, loss, optimizer):
        """The loss to differentiate: divided across replicas (gradients are summed), then loss-scaled."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return optimizer.scale_loss(loss / replicas)

    def _generate(self, lightness, training):
        """(generated ab, per-pixel reconstruction loss function of the true ab)."""
        if self.centres is None:
            generated = self.generator(lightness, training=training)
            return generated, lambda ab: objectives.regression_loss(self.objective, ab, generated,
                                                                   self.weight_table)
        logits, generated = self.trainer(lightness, training=training)
        return generated, lambda ab: objectives.classification_loss(ab, logits, self.centres, self.class_weights)

    def train_step(self, data):
        lightness, ab, _ = keras.utils.unpack_x_y_sample_weight(data)  # (B, H, W, 1), (B, H, W, 2)
        if self.phase == "discriminator":
            generated = self.generator(lightness, training=False)  # frozen: the critic learns its fakes
            self.discriminator_loss_tracker.update_state(self._discriminator_step(lightness, ab, generated))
            self.l1_tracker.update_state(self._mean(tf.abs(ab - generated)))
            return self._results()

        # One generator forward pass serves both updates (as in the paper's code); the
        # generator's tape pauses while the discriminator learns from a detached copy of it.
        with tf.GradientTape() as generator_tape:
            generated, reconstruction = self._generate(lightness, training=True)  # (B, H, W, 2), float32
            objective_loss = self._mean(reconstruction(ab))
            if self.phase == "generator":
                # Generator alone: the reconstruction objective, no discriminator in the graph at all.
                generator_loss = objective_loss
            else:
                with generator_tape.stop_recording():
                    discriminator_loss = self._discriminator_step(lightness, ab, generated)
                # 2. Generator: fool the just-updated discriminator, and stay close to the real colors.
                fake_logits = self.discriminator([lightness, generated], training=True)
                gan_loss = self._mean(self.bce(tf.ones_like(fake_logits), fake_logits))
                generator_loss = self.adversarial_weight * gan_loss + self.l1_weight * objective_loss
            scaled = self._for_gradients(generator_loss, self.generator_optimizer)
        gradients = generator_tape.gradient(scaled, self.generator.trainable_variables)
        updates_before = tf.cast(tf.identity(self.generator_optimizer.iterations), tf.float32)
        self.generator_optimizer.apply(gradients, self.generator.trainable_variables)
        self._update_moving_average(updates_before)

        if self.phase == "adversarial":
            self.gan_loss_tracker.update_state(gan_loss)
            self.discriminator_loss_tracker.update_state(discriminator_loss)
        self.generator_loss_tracker.update_state(generator_loss)
        self.l1_tracker.update_state(self._mean(tf.abs(ab - generated)))
        self.objective_tracker.update_state(objective_loss)
        return self._results()

    def _results(self):
        """This phase's losses only: a loss the phase does not compute is not reported as 0."""
        absent = ABSENT_LOSSES[self.phase]
        return {metric.name: metric.result() for metric in self.metrics if metric.name not in absent}

    def _discriminator_step(self, lightness, ab, generated):
        """1. Discriminator: real pairs (L, ab) -> 1 (or 1 - smoothing), generated pairs -> 0."""
        generated = tf.stop_gradient(generated)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([lightness, ab], training=True)  # (B, h, w, 1)
            fake_logits = self.discriminator([lightness, generated], training=True)
            real_targets = tf.fill(tf.shape(real_logits), 1.0 - self.label_smoothing)
            real_loss = self._mean(self.bce(real_targets, real_logits))
            fake_loss = self._mean(self.bce(tf.zeros_like(fake_logits), fake_logits))
            # Halved as in the paper, "which slows down the rate at which D learns relative to G".
            loss = 0.5 * (real_loss + fake_loss)
            scaled = self._for_gradients(loss, self.discriminator_optimizer)
        gradients = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.discriminator_optimizer.apply(gradients, self.discriminator.trainable_variables)
        return loss

    def _update_moving_average(self, updates_before):
        """ema <- d * ema + (1 - d) * weight, with d ramped up as min(decay, (1 + n) / (10 + n)) over the
        n earlier updates, so the average does not remember the random initialisation for thousands of steps."""
        if not self.ema_weights:
            return
        decay = tf.minimum(self.ema_decay, (1.0 + updates_before) / (10.0 + updates_before))
        for average, weight in zip(self.ema_weights, self.generator.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))

    def export_weights(self):
        """The generator's weights to export (``get_weights`` order): the moving average when on."""
        if self.ema_weights:
            return [average.numpy() for average in self.ema_weights]
        return self.generator.get_weights()

    def test_step(self, data):
        """Validation: the L1 distance of the generated ab to the real ab (Keras names it ``val_l1``)."""
        lightness, ab, _ = keras.utils.unpack_x_y_sample_weight(data)
        generated, reconstruction = self._generate(lightness, training=False)
        self.l1_tracker.update_state(self._mean(tf.abs(ab - generated)))
        self.objective_tracker.update_state(self._mean(reconstruction(ab)))
        trackers = [self.l1_tracker] + ([self.objective_tracker] if self.objective != "l1" else [])
        return {metric.name: metric.result() for metric in trackers}
