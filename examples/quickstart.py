"""Quickstart: the seed blog post's Keras / TensorFlow calls, run through dotsum.

The post ("浅谈keras中的batch_dot,dot方法和TensorFlow的matmul") calls ``K.batch_dot``,
``K.dot`` and ``tf.matmul`` on arrays of ones and prints the result shapes. Here each call runs
through dotsum on JAX and we print the call, the result shape, and the einsum subscripts of its
plan.

Two things the tour shows:

* ``K.batch_dot`` of ``(10,12,4,5)·(10,12,5,8)``: the post printed ``(10, 12, 4, 8)``, which is
  what Keras <= 2.2.4 returned (all leading axes batch-broadcast like ``tf.matmul``). Keras
  >= 2.2.5 (tf_keras, Keras 3 ``Dot``) keeps axis 0 as the only batch axis and returns
  ``(10, 12, 4, 12, 8)``. dotsum gives the current semantics by default and the post's with
  ``legacy=True``.
* ``K.dot(ones((3,4,5,2)), ones((2,5,3,7)))`` fails in the post with TensorFlow's message about a
  reshaped ``[60,2]·[3,70]`` MatMul; dotsum names the axes you actually passed.

Run::

    python examples/quickstart.py          # --quick is accepted (and changes nothing)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from dotsum import keras as K
from dotsum import tf as dtf


def _fmt(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


def show(label: str, op: Callable[..., Any], x_shape: tuple[int, ...],
         y_shape: tuple[int, ...], note: str = "", **kwargs: Any) -> None:
    """Run ``op`` on ones of these shapes; print the call, the result shape and the subscripts."""
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    call = f"{label}(ones({_fmt(x_shape)}), ones({_fmt(y_shape)}){extra})"
    result = op(jnp.ones(x_shape), jnp.ones(y_shape), **kwargs)
    plan = op.plan(x_shape, y_shape, **kwargs)
    assert result.shape == plan.out_shape
    print(f"{call}\n    -> shape {result.shape}   einsum '{plan.subscripts}'"
          + (f"   # {note}" if note else ""))


def show_error(label: str, op: Callable[..., Any], x_shape: tuple[int, ...],
               y_shape: tuple[int, ...]) -> None:
    """Run a call that must fail and print dotsum's error message."""
    call = f"{label}(ones({_fmt(x_shape)}), ones({_fmt(y_shape)}))"
    try:
        op(jnp.ones(x_shape), jnp.ones(y_shape))
    except ValueError as e:
        print(f"{call}\n    -> ValueError: {e}")
    else:
        raise AssertionError(f"{call} should have raised ValueError")


def tour() -> None:
    print("== batch_dot and tf.matmul (seed: both print (10, 12, 4, 8)) ==")
    show("K.batch_dot", K.batch_dot, (10, 12, 4, 5), (10, 12, 5, 8),
         note="Keras >= 2.2.5: axis 0 is the only batch axis")
    show("K.batch_dot", K.batch_dot, (10, 12, 4, 5), (10, 12, 5, 8), legacy=True,
         note="Keras <= 2.2.4, what the seed printed")
    show("tf.matmul", dtf.matmul, (10, 12, 4, 5), (10, 12, 5, 8))

    print("\n== dot: numpy.dot semantics ==")
    show_error("K.dot", K.dot, (3, 4, 5, 2), (2, 5, 3, 7))
    show("K.dot", K.dot, (3, 4), (4, 5))
    show("tf.matmul", dtf.matmul, (3, 4), (4, 5))
    show("K.dot", K.dot, (2, 3, 4), (7, 4, 5))
    show("K.dot", K.dot, (1, 2, 3, 4), (8, 7, 4, 5))
    show("K.dot", K.dot, (1, 2, 4), (8, 7, 4, 5))

    print("\n== batch_dot on rank 5 (seed: both print (9, 8, 7, 4, 5)) ==")
    show("K.batch_dot", K.batch_dot, (9, 8, 7, 4, 2), (9, 8, 7, 2, 5),
         note="Keras >= 2.2.5")
    show("K.batch_dot", K.batch_dot, (9, 8, 7, 4, 2), (9, 8, 7, 2, 5), legacy=True,
         note="Keras <= 2.2.4, what the seed printed")
    show("tf.matmul", dtf.matmul, (9, 8, 7, 4, 2), (9, 8, 7, 2, 5))

    print("\n== a whole plan: K.dot.plan((2, 3, 4), (7, 6, 4, 5)) ==")
    print(K.dot.plan((2, 3, 4), (7, 6, 4, 5)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="accepted for the example runner; the tour is already quick")
    parser.parse_args(argv)
    tour()
    return 0


if __name__ == "__main__":
    sys.exit(main())
