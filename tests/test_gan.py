"""Pix2Pix training steps: finite losses that move, both networks learning, warm-up, precision, devices."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorgan import gan, models


def fixed_batch(size=32, count=4, seed=0):
    """(L, ab) where the colors are a smooth function of lightness: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(-1, 1, (count, size // 4, size // 4, 1)).repeat(4, 1).repeat(4, 2).astype("float32")
    ab = np.concatenate([0.6 * np.sin(2 * lightness), 0.4 * lightness], axis=-1).astype("float32")
    return lightness, ab


def tiny_pix2pix(seed=0, learning_rate=2e-4, dropout_rate=0.5, mixed_precision=False, **kwargs):
    keras.utils.set_random_seed(seed)
    model = gan.Pix2Pix(models.build_generator(32, 8, dropout_rate), models.build_discriminator(8), **kwargs)
    model.compile(gan.paper_optimizer(learning_rate, mixed_precision), gan.paper_optimizer(learning_rate, mixed_precision))
    return model


def snapshot(network):
    return [w.numpy().copy() for w in network.trainable_weights]


def changed(before, network):
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, network.trainable_weights, strict=True))


def test_one_train_step_gives_finite_losses_and_moves_both_networks():
    model = tiny_pix2pix()
    generator_before, discriminator_before = snapshot(model.generator), snapshot(model.discriminator)
    logs = model.train_on_batch(*fixed_batch(), return_dict=True)
    assert set(logs) == {"generator_loss", "gan_loss", "l1", "discriminator_loss"}
    assert all(np.isfinite(value) for value in logs.values())
    # generator loss = adversarial + 100 * L1
    assert logs["generator_loss"] == pytest.approx(logs["gan_loss"] + 100 * logs["l1"], rel=1e-5)
    assert changed(generator_before, model.generator) and changed(discriminator_before, model.discriminator)
    assert int(model.generator_optimizer.iterations.numpy()) == 1
    assert int(model.discriminator_optimizer.iterations.numpy()) == 1


def test_a_few_steps_on_a_fixed_batch_reduce_l1():
    model = tiny_pix2pix(learning_rate=1e-3)
    lightness, ab = fixed_batch()
    first = model.train_on_batch(lightness, ab, return_dict=True)["l1"]
    for _ in range(25):
        last = model.train_on_batch(lightness, ab, return_dict=True)["l1"]
    assert last < 0.7 * first


def test_validation_reports_l1_of_the_generator():
    model = tiny_pix2pix()
    lightness, ab = fixed_batch()
    logs = model.evaluate(lightness, ab, verbose=0, return_dict=True)
    expected = np.mean(np.abs(ab - model.generator(lightness, training=False).numpy()))
    assert logs["l1"] == pytest.approx(expected, rel=1e-5)


class CountingDiscriminator(keras.Model):
    """A discriminator that counts its calls (each trace of a compiled step calls it once per use)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, 0

    def call(self, inputs, training=False):
        self.calls += 1
        return self.inner(inputs, training=training)


def test_the_generator_only_phase_never_runs_the_discriminator():
    keras.utils.set_random_seed(0)
    discriminator = CountingDiscriminator(models.build_discriminator(8))
    discriminator([np.zeros((1, 32, 32, 1)), np.zeros((1, 32, 32, 2))])
    calls_when_built = discriminator.calls
    model = gan.Pix2Pix(models.build_generator(32, 8), discriminator, warmup_epochs=1)
    model.compile(gan.paper_optimizer(), gan.paper_optimizer())
    lightness, ab = fixed_batch()
    model.set_epoch(0)
    discriminator_before = snapshot(model.discriminator)
    logs = model.fit(lightness, ab, batch_size=4, epochs=1, verbose=0).history
    assert discriminator.calls == calls_when_built  # not traced into the step, so never run
    assert not changed(discriminator_before, model.discriminator)
    assert int(model.discriminator_optimizer.iterations.numpy()) == 0
    assert logs["generator_loss"][0] == pytest.approx(logs["l1"][0], rel=1e-5)  # the objective alone
    model.set_epoch(1)  # the adversarial phase: a new step that does run it
    model.train_on_batch(lightness, ab)
    assert discriminator.calls > calls_when_built and changed(discriminator_before, model.discriminator)


def test_the_critic_phase_trains_the_discriminator_alone():
    model = tiny_pix2pix(warmup_epochs=1, critic_epochs=1)
    assert [model.phase_of(epoch) for epoch in range(3)] == ["generator", "discriminator", "adversarial"]
    model.set_epoch(1)
    generator_before, discriminator_before = snapshot(model.generator), snapshot(model.discriminator)
    logs = model.train_on_batch(*fixed_batch(), return_dict=True)
    assert not changed(generator_before, model.generator) and changed(discriminator_before, model.discriminator)
    assert logs["discriminator_loss"] > 0


def test_the_moving_average_follows_the_weights():
    model = tiny_pix2pix(ema_decay=0.9, warmup_epochs=1)
    model.set_epoch(0)
    initial = [weight.numpy().copy() for weight in model.generator.weights]
    lightness, ab = fixed_batch()
    model.train_on_batch(lightness, ab)
    after_one = [weight.numpy().copy() for weight in model.generator.weights]
    decay = min(0.9, (1 + 0) / (10 + 0))  # ramped: no update before the first one
    for average, start, now in zip(model.ema_weights, initial, after_one, strict=True):
        np.testing.assert_allclose(average.numpy(), decay * start + (1 - decay) * now, rtol=1e-5, atol=1e-7)
    exported = model.export_weights()
    assert any(not np.allclose(e, w) for e, w in zip(exported, model.generator.get_weights(), strict=True))
    for _ in range(200):  # the average converges to weights that stop moving
        model.train_on_batch(lightness, ab)
    model.generator_optimizer.learning_rate.assign(0.0)
    for _ in range(100):
        model.train_on_batch(lightness, ab)
    trainable = {id(weight) for weight in model.generator.trainable_weights}  # BatchNorm statistics move with dropout
    for average, weight in zip(model.export_weights(), model.generator.weights, strict=True):
        if id(weight) in trainable:
            np.testing.assert_allclose(average, weight.numpy(), rtol=1e-3, atol=1e-4)


def test_a_classification_generator_learns_the_binned_colors():
    from colorgan import objectives

    keras.utils.set_random_seed(0)
    generator = models.build_generator(32, 8, 0.0, bin_centres=objectives.gamut_bins(), temperature=0.38)
    model = gan.Pix2Pix(generator, models.build_discriminator(8), objective="classification", warmup_epochs=1)
    model.compile(gan.paper_optimizer(1e-3), gan.paper_optimizer())
    model.set_epoch(0)
    lightness, ab = fixed_batch()
    first = model.train_on_batch(lightness, ab, return_dict=True)
    for _ in range(40):
        last = model.train_on_batch(lightness, ab, return_dict=True)
    assert last["objective_loss"] < 0.95 * first["objective_loss"] and last["l1"] < first["l1"]


def test_a_classification_objective_needs_a_classification_generator():
    with pytest.raises(ValueError, match="classification"):
        gan.Pix2Pix(models.build_generator(32, 4), models.build_discriminator(4), objective="classification")


def test_label_smoothing_raises_the_discriminators_floor():
    # With real targets of 0.9, even a perfect discriminator pays BCE(0.9, .) > 0 on real pairs.
    lightness, ab = fixed_batch()
    plain = tiny_pix2pix().train_on_batch(lightness, ab, return_dict=True)
    smoothed = tiny_pix2pix(label_smoothing=0.1).train_on_batch(lightness, ab, return_dict=True)
    assert smoothed["discriminator_loss"] != pytest.approx(plain["discriminator_loss"], rel=1e-4)
    assert smoothed["l1"] == pytest.approx(plain["l1"], rel=1e-5)  # same generator before its update


@pytest.mark.parametrize("arguments, message", [({"l1_weight": -1}, "l1_weight"),
                                                ({"label_smoothing": 1.0}, "label_smoothing"),
                                                ({"warmup_epochs": -2}, "warmup_epochs"),
                                                ({"ema_decay": 1.0}, "ema_decay"),
                                                ({"objective": "l3"}, "objective")])
def test_bad_options_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        gan.Pix2Pix(models.build_generator(32, 4), models.build_discriminator(4), **arguments)


def test_mixed_precision_step_uses_loss_scaling_and_stays_finite():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_pix2pix(mixed_precision=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    before = snapshot(model.generator)
    logs = model.train_on_batch(*fixed_batch(), return_dict=True)
    assert all(np.isfinite(value) for value in logs.values())
    assert changed(before, model.generator)


def test_xla_step_matches_the_plain_step():
    lightness, ab = fixed_batch()
    plain = tiny_pix2pix(dropout_rate=0.0).train_on_batch(lightness, ab, return_dict=True)
    model = tiny_pix2pix(dropout_rate=0.0)
    model.compile(gan.paper_optimizer(), gan.paper_optimizer(), jit_compile=True)
    xla = model.train_on_batch(lightness, ab, return_dict=True)
    for name in plain:
        assert xla[name] == pytest.approx(plain[name], rel=1e-3, abs=1e-5)


STRATEGY_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    # Two logical CPUs: must be set before TensorFlow initializes its devices, hence this fresh process.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    from test_gan import fixed_batch, tiny_pix2pix

    lightness, ab = fixed_batch(count=4)
    dataset = tf.data.Dataset.from_tensors((lightness, ab)).repeat()
    losses = {}
    for name, strategy in [("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
                           ("single", tf.distribute.get_strategy())]:
        with strategy.scope():
            model = tiny_pix2pix(dropout_rate=0.0)  # same seed: same initial weights
        history = model.fit(dataset, epochs=2, steps_per_epoch=1, verbose=0).history
        losses[name] = {"replicas": strategy.num_replicas_in_sync, **history}
    print("RESULT " + json.dumps(losses))
""")


def test_two_device_mirrored_steps_match_the_single_device_steps():
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", STRATEGY_SCRIPT, os.path.dirname(__file__)], capture_output=True,
                            text=True, env=environment, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stderr[-3000:]
    losses = json.loads(lines[0].removeprefix("RESULT "))
    assert losses["mirrored"].pop("replicas") == 2 and losses["single"].pop("replicas") == 1
    for name, values in losses["single"].items():
        # Two steps: the second also checks that both replicas applied the same (all-reduced) update.
        np.testing.assert_allclose(losses["mirrored"][name], values, rtol=2e-4, atol=1e-6, err_msg=name)


def test_pix2pix_calls_the_generator():
    model = tiny_pix2pix()
    lightness, _ = fixed_batch()
    np.testing.assert_allclose(model(tf.constant(lightness)).numpy(), model.generator(lightness).numpy(), rtol=1e-6)
