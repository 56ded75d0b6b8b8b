"""Ops the converters cannot convert: handler chains keyed by (target, TF op type).

`OpSite` (one occurrence of an op, from the graph or from a mobilekit layer) is `mobilekit.nn.site`.
- `registry`: handler kinds (exact decomposition, Core ML custom layer, TFLite Select TF op), the
  `OP_HANDLERS` registry and `resolve` (first applicable handler, in chain order).
- `handlers`: the built-in chains (data) and the route table per op and target.
- `decompose`: the exact decompositions (TF graphs + weights from mobilekit.shaders.reference).
  Importing this package registers the built-in chains (`handlers`).
- `lowering`: traces a model for a target with mobilekit layers emitting decompositions.
- `graph`: walks a traced function's GraphDef (function library included).
- `coreml_custom`: MIL custom ops + TF frontend translations for the custom-layer route.

Coverage (what each op becomes, per target) is `mobilekit.convert.coverage`.
"""

import mobilekit.convert.ops.handlers  # noqa: E402,F401  (registers the built-in chains)
