"""The generator's training step: hole and valid L1, total variation, a GAN (hinge discriminator,
non-saturating generator) with a global and a local (hole crop) discriminator, and feature
matching on the discriminators' features.

The discriminators live only here: they are never saved, converted or bundled. GMCNN's ID-MRF loss
needs a pretrained VGG19, which cannot be downloaded here; the honest substitute is feature
matching (L1 between the discriminators' intermediate features of the true and the completed
photo), which likewise pulls the completion's local statistics towards real ones."""
from __future__ import annotations

from typing import Any

from mobilekit.families.inpainting.config import InpaintingOptions, InpaintingPreset
from mobilekit.families.inpainting.network import RAW_LAYER, build_discriminator

LOCAL_FRACTION = 0.5  # the local discriminator sees a box of half the image's height and width around the hole


def hole_boxes(tf, mask, fraction: float):
    """Normalized [y1, x1, y2, x2] boxes of `fraction` × the image, centred on each sample's hole
    (its bounding box's centre) and shifted to stay inside the image."""
    rows = tf.cast(tf.reduce_max(mask, axis=(2, 3)) > 0.5, tf.float32)  # (B, H)
    cols = tf.cast(tf.reduce_max(mask, axis=(1, 3)) > 0.5, tf.float32)  # (B, W)

    def centre(hits):
        size = tf.cast(tf.shape(hits)[1], tf.float32)
        index = tf.range(size)
        first = tf.reduce_min(tf.where(hits > 0, index, size), axis=1)
        last = tf.reduce_max(tf.where(hits > 0, index, -1.0), axis=1)
        mid = tf.where(last >= first, (first + last + 1.0) / 2.0, size / 2.0) / size
        return tf.clip_by_value(mid, fraction / 2, 1.0 - fraction / 2)

    cy, cx = centre(rows), centre(cols)
    half = fraction / 2
    return tf.stack([cy - half, cx - half, cy + half, cx + half], axis=1)


def relative_l1(tf, real, fake):
    """L1 between discriminator features of the true and the completed photo, relative to the true
    features' mean magnitude: without normalization layers the features grow as the discriminator
    trains, and an absolute L1 would grow with them and swamp the reconstruction terms."""
    real = tf.stop_gradient(real)
    return tf.reduce_mean(tf.abs(real - fake)) / (tf.reduce_mean(tf.abs(real)) + 1e-3)


def adversarial_losses(tf, real_logits, fake_logits):
    """(discriminator hinge loss, generator non-saturating loss softplus(−D(fake))). The generator's
    term is bounded below, unlike the hinge generator loss −D(fake), which grew without bound as the
    discriminator sharpened and pulled the completions away from the photo over longer runs."""
    d = tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
    return d, tf.reduce_mean(tf.nn.softplus(-fake_logits))


class AdversarialInpaintingStep:
    """`TrainingStep` of the inpainting family (see the module docstring)."""

    def __init__(self, options: InpaintingOptions, preset: InpaintingPreset) -> None:
        self.options, self.preset = options, preset

    def build(self, model: Any, config: Any, learning_rate: Any) -> None:
        from mobilekit.core.tf import tf_and_keras

        tf, keras = tf_and_keras()
        h, w = config.data.image_size
        local = (int(h * LOCAL_FRACTION), int(w * LOCAL_FRACTION))
        trained = keras.Model(model.inputs, [model.get_layer(RAW_LAYER).output, model.get_layer("inpainted").output])
        self.global_d = build_discriminator(keras, (h, w), self.preset.discriminator, "global_d")
        self.local_d = build_discriminator(keras, local, self.preset.discriminator, "local_d")
        self.g_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
        self.d_opt = keras.optimizers.Adam(self.options.discriminator_learning_rate, beta_1=0.5)
        o = self.options
        critics = (self.global_d, self.local_d)
        d_vars = self.global_d.trainable_variables + self.local_d.trainable_variables

        @tf.function
        def step(inputs, targets):
            image, mask, truth = inputs["image"], inputs["mask"], targets["inpainted"]
            boxes = hole_boxes(tf, mask, LOCAL_FRACTION)
            index = tf.range(tf.shape(mask)[0])
            with tf.GradientTape(persistent=True) as tape:
                raw, completed = trained([image, mask], training=True)
                error = tf.abs(raw - truth)
                hole_l1 = tf.reduce_mean(error * mask)
                valid_l1 = tf.reduce_mean(error * (1.0 - mask))
                tv = tf.reduce_mean(tf.image.total_variation(completed)) / float(h * w * 3)
                real, fake = tf.concat([truth, mask], -1), tf.concat([completed, mask], -1)
                views = [(real, fake), (tf.image.crop_and_resize(real, boxes, index, local),
                                        tf.image.crop_and_resize(fake, boxes, index, local))]
                d_loss, adv, matching = 0.0, 0.0, 0.0
                for critic, (r, f) in zip(critics, views):
                    *real_features, real_logits = critic(r, training=True)
                    *fake_features, fake_logits = critic(f, training=True)
                    d_part, g_part = adversarial_losses(tf, real_logits, fake_logits)
                    d_loss, adv = d_loss + d_part, adv + g_part
                    matching += tf.add_n([relative_l1(tf, a, b) for a, b in zip(real_features, fake_features)]) / len(real_features)
                g_loss = (o.hole_weight * hole_l1 + o.valid_weight * valid_l1 + o.tv_weight * tv
                          + o.adversarial_weight * adv + o.feature_matching_weight * matching)
            g_vars = trained.trainable_variables
            self.g_opt.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
            self.d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
            return {"loss": g_loss, "hole_l1": hole_l1, "valid_l1": valid_l1, "discriminator": d_loss}

        self._step = step

    def step(self, inputs: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
        return self._step(inputs, targets)
