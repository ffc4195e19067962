"""Pix2Pix as a ``keras.Model``: a generator and a discriminator trained against each other.

The keras-io GAN recipe: the networks are built outside (``colorgan.models``) and passed in,
``compile`` takes one optimizer per network, ``train_step`` is two ``tf.GradientTape`` blocks
(discriminator, then generator), and ``fit`` gives progress bars, callbacks, ``tf.distribute``
and XLA for free. Losses (Isola et al., 2017, eq. 4):

    D: BCE(D(L, ab), 1) + BCE(D(L, G(L)), 0)       (halved, as in the paper, to slow D down)
    G: BCE(D(L, G(L)), 1) + l1_weight * |ab - G(L)|  (l1_weight = lambda = 100)

Options beyond the paper, all off by default: ``label_smoothing`` (real target 1 - s),
``warmup_epochs`` of L1 alone, mixed precision (build the networks under the ``mixed_float16``
policy and pass ``paper_optimizer(..., mixed_precision=True)``: each optimizer scales its own loss),
and XLA (``compile(..., jit_compile=True)``). Build and compile under a ``tf.distribute`` strategy's
scope to train on several GPUs; losses are divided by the replica count, gradients summed.
"""

import keras
import tensorflow as tf

# The paper's settings (section 4 and its code): Adam, learning rate 2e-4, beta_1 0.5, lambda 100.
LEARNING_RATE = 2e-4
BETA_1 = 0.5
L1_WEIGHT = 100.0


def paper_optimizer(learning_rate=LEARNING_RATE, mixed_precision=False):
    """Adam(learning_rate, beta_1=0.5); wrapped in a LossScaleOptimizer for float16 gradients."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=BETA_1)
    # Dynamic loss scaling keeps small float16 gradients from flushing to zero; each network gets
    # its own scale because their losses (and gradients) have different magnitudes.
    return keras.optimizers.LossScaleOptimizer(optimizer) if mixed_precision else optimizer


class Pix2Pix(keras.Model):
    """Conditional GAN for colorization: ``fit`` on batches of (L, ab), both in [-1, 1].

    Args:
        generator: L (B, H, W, 1) -> ab (B, H, W, 2), tanh.
        discriminator: [L, ab] -> logits (B, h, w, 1), one per patch.
        l1_weight: lambda, weight of the L1 term in the generator's loss (100 in the paper).
        label_smoothing: the discriminator's target for real pairs is 1 - label_smoothing (0 in the
            paper; 0.1 is a common remedy when D wins too fast).
        warmup_epochs: train the generator on L1 alone for this many epochs before the adversarial
            phase (0 in the paper); a warmed-up generator gives D meaningful fakes from the start.
    """

    def __init__(self, generator, discriminator, l1_weight=L1_WEIGHT, label_smoothing=0.0, warmup_epochs=0,
                 name="pix2pix", **kwargs):
        super().__init__(name=name, **kwargs)
        if l1_weight < 0:
            raise ValueError(f"l1_weight must be >= 0, got {l1_weight}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = float(l1_weight)
        self.label_smoothing = float(label_smoothing)
        self.warmup_epochs = int(warmup_epochs)
        # 1.0 while the adversarial terms are on, 0.0 during the L1 warm-up; a variable (not a
        # Python flag) so the compiled train_step does not retrace when the phase changes.
        self.adversarial = keras.Variable(1.0 if warmup_epochs == 0 else 0.0, trainable=False, name="adversarial")
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="none")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.gan_loss_tracker = keras.metrics.Mean(name="gan_loss")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")

    @property
    def metrics(self):
        # Listed here so Keras resets them at the start of each epoch.
        return [self.generator_loss_tracker, self.gan_loss_tracker, self.l1_tracker,
                self.discriminator_loss_tracker]

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

    def set_epoch(self, epoch):
        """Switch the adversarial terms on once ``epoch`` (0-based) is past the warm-up."""
        self.adversarial.assign(1.0 if epoch >= self.warmup_epochs else 0.0)

    def _mean(self, per_example):
        """Mean over this replica's batch, in float32 (logits and tanh outputs are float32)."""
        return tf.reduce_mean(tf.cast(per_example, tf.float32))

    def _for_gradients(self, loss, optimizer):
        """The loss to differentiate: divided across replicas (gradients are summed), then loss-scaled."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return optimizer.scale_loss(loss / replicas)

    def train_step(self, data):
        lightness, ab, _ = keras.utils.unpack_x_y_sample_weight(data)  # (B, H, W, 1), (B, H, W, 2)

        # One generator forward pass serves both updates (as in the paper's code); the
        # generator's tape pauses while the discriminator learns from a detached copy of it.
        with tf.GradientTape() as generator_tape:
            generated = self.generator(lightness, training=True)  # (B, H, W, 2), float32
            with generator_tape.stop_recording():
                discriminator_loss = self._discriminator_step(lightness, ab, generated)

            # 2. Generator: fool the just-updated discriminator, and stay close to the real colors.
            fake_logits = self.discriminator([lightness, generated], training=True)
            gan_loss = self._mean(self.bce(tf.ones_like(fake_logits), fake_logits))
            l1 = self._mean(tf.abs(ab - generated))
            generator_loss = gan_loss * self.adversarial + self.l1_weight * l1
            scaled = self._for_gradients(generator_loss, self.generator_optimizer)
        gradients = generator_tape.gradient(scaled, self.generator.trainable_variables)
        self.generator_optimizer.apply(gradients, self.generator.trainable_variables)

        self.generator_loss_tracker.update_state(generator_loss)
        self.gan_loss_tracker.update_state(gan_loss)
        self.l1_tracker.update_state(l1)
        self.discriminator_loss_tracker.update_state(discriminator_loss)
        return {metric.name: metric.result() for metric in self.metrics}

    def _discriminator_step(self, lightness, ab, generated):
        """1. Discriminator: real pairs (L, ab) -> 1 (or 1 - smoothing), generated pairs -> 0."""
        generated = tf.stop_gradient(generated)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([lightness, ab], training=True)  # (B, h, w, 1)
            fake_logits = self.discriminator([lightness, generated], training=True)
            real_targets = tf.fill(tf.shape(real_logits), 1.0 - self.label_smoothing)
            real_loss = self._mean(self.bce(real_targets, real_logits))
            fake_loss = self._mean(self.bce(tf.zeros_like(fake_logits), fake_logits))
            # Halved as in the paper, "which slows down the rate at which D learns relative to G";
            # zero during the L1 warm-up, so D stays as initialised (Adam moves nothing on zero gradients).
            loss = 0.5 * (real_loss + fake_loss)
            scaled = self._for_gradients(loss * self.adversarial, self.discriminator_optimizer)
        gradients = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.discriminator_optimizer.apply(gradients, self.discriminator.trainable_variables)
        return loss

    def test_step(self, data):
        """Validation: the L1 distance of the generated ab to the real ab (Keras names it ``val_l1``)."""
        lightness, ab, _ = keras.utils.unpack_x_y_sample_weight(data)
        generated = self.generator(lightness, training=False)
        fake_logits = self.discriminator([lightness, generated], training=False)
        gan_loss = self._mean(self.bce(tf.ones_like(fake_logits), fake_logits))
        l1 = self._mean(tf.abs(ab - generated))
        self.l1_tracker.update_state(l1)
        self.gan_loss_tracker.update_state(gan_loss)
        self.generator_loss_tracker.update_state(gan_loss + self.l1_weight * l1)
        return {metric.name: metric.result() for metric in self.metrics[:3]}
