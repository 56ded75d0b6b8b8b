"""Device QA: golden fixtures inside a bundle and judging what a device produced on them.

- `fixture_format`: the on-disk format of `fixtures/` (encoding, index, reading and writing the tree),
- `reference`: rebuilding and validating the TensorFlow reference model context of a bundle,
- `fixtures`: `add_fixtures`, writing fixtures into a bundle,
- `ingest`: comparing a device's outputs with the goldens."""
