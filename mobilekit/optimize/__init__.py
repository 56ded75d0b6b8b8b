"""Optimize stage: training-time passes (prune, cluster, QAT) on tf_keras models, post-training
compression per target (TFLite quantization, Core ML weight compression), named variants and
the sweep that picks the smallest variant within a quality budget."""
