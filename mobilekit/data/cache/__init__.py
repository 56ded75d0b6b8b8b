"""Content-addressed dataset cache: identity (`identity`), TFRecord codec (`codec`), the store with
its locks (`store`), file operations on local paths and gfile URLs (`files`) and tf.data streams (`stream`)."""
