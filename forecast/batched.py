"""A model's graph evaluated at many draws at once (the sensitivity analysis, moment matching).

PyTensor's `vectorize_graph` gives an operation it has no batched form for a loop over the draws
(`Blockwise`). PyTensor writes some element-wise functions as small graphs of their own (`xlogy`,
which the evidence likelihood and PyMC's distributions use, and the like) and has no batched form
for them, so each was looped over the 4,000 draws: a quarter of the time of the flagship's log
density (4.5 ms a call, 3.5 without the loops). An element-wise graph needs no loop: it is applied
to the batched inputs themselves, as every element-wise operation is. The rule is registered
with PyTensor once, for the whole process (any later `vectorize_graph` gets it too: the same
values, without the loop); the sampler's own functions are not vectorised and do not see it.
"""

from __future__ import annotations

import functools


def vectorized(outputs, replace: dict):
    """`pytensor.graph.replace.vectorize_graph`, element-wise inner graphs applied directly."""
    from pytensor.graph.replace import vectorize_graph

    _register()
    return vectorize_graph(outputs, replace=replace)


@functools.cache
def _register() -> None:
    from pytensor.graph.replace import _vectorize_node
    from pytensor.tensor.blockwise import vectorize_node_fallback
    from pytensor.tensor.elemwise import DimShuffle, Elemwise
    from pytensor.tensor.symbolic import FusibleSymbolicOp

    @_vectorize_node.register(FusibleSymbolicOp)
    def _elementwise(op, node, *inputs):
        inner = op.fgraph.apply_nodes
        if getattr(op, "__props__", ()) or not all(
            isinstance(n.op, Elemwise | DimShuffle) for n in inner
        ):
            return vectorize_node_fallback(op, node, *inputs)
        import pytensor.tensor as pt

        # Each input's own leading batch axes, then its element axes aligned on the right with
        # those of the widest input, as element-wise broadcasting aligns them.
        width = max(original.type.ndim for original in node.inputs)
        aligned = []
        for original, batched in zip(node.inputs, inputs, strict=True):
            batch = batched.type.ndim - original.type.ndim
            missing = width - original.type.ndim
            if batch and missing:
                batched = pt.expand_dims(batched, tuple(range(batch, batch + missing)))
            aligned.append(batched)
        return type(op)()(*aligned).owner
