"""Recipe -> generator inputs: the latent maths of the explorer, in one function.

`recipe_inputs` is the only code that turns a recipe into what a generator takes; the panel,
the exports, the named API and the tests all reach it through `RenderService.render_recipe`,
so one recipe renders the same pixels everywhere. It uses only `gan_core.latent` and NumPy
(float32 throughout, float64 inside slerp), so it can be ported line by line to another
language (e.g. JavaScript for rendering in the browser). The steps, in order:

1. Path. The seeds are A, B, then the keyframes: K = len(seeds) >= 2, so K - 1 legs. t in
   [0, 1] runs along all legs: x = t * (K - 1), leg i = min(floor(x), K - 2) from seed i to
   seed i + 1, and the position inside the leg is eased: u = ease(x - i) (`latent.ease`).
2. z. u == 0 gives exactly z(seed i), u == 1 exactly z(seed i+1) (`latent.z_from_seed`: the
   seed's N(0, I) sample); otherwise lerp or slerp between them at u (`latent.interpolate`).
3. Truncation. psi != 1: z = psi * z (the prior's centre is 0).
4. Directions. Any non-zero offset v_k: z = z + sum_k v_k * direction_k, the top-k directions
   the service discovered for this model (`latent.Directions.apply`).
5. Classes (conditional models only). Both classes -1: the class travels with the seeds, the
   leg's seed classes (`latent.seed_class`) blended by u. Otherwise class A and B (a -1 among
   them is its seed's class) blended by `mix`, or by the raw t if `mix_follows_t`. A blend at
   0 (or of one class with itself) is class A, at 1 class B; anything between is the
   embedding (1 - mix) * E[a] + mix * E[b] (`latent.blend_embeddings`).

At t = 0 this gives exactly `RenderService.z(seed_a, psi)` and the class of
`RenderService.render(seed_a, class_a)`, so a recipe at t = 0 renders that image bit for bit
(and seed B at t = 1).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..latent import Directions, interpolate, seed_class, truncate, walk_position, z_from_seed
from .recipe import Recipe


class Inputs(NamedTuple):
    """One image's generator inputs."""

    z: np.ndarray  # (nz,) float32
    label: int | None  # one class index (conditional models), or None
    blend: tuple[int, int, float] | None  # (class a, class b, mix strictly between 0 and 1), or None


def class_of(chosen: int, seed: int, num_classes: int) -> int:
    """A chosen class index, or (-1) the seed's class."""
    return chosen if chosen >= 0 else seed_class(seed, num_classes)


def recipe_inputs(recipe: Recipe, nz: int, num_classes: int,
                  directions: Callable[[int], Directions] | None = None) -> Inputs:
    """The generator inputs of a recipe for a model with latent size `nz` and `num_classes`
    classes (0: unconditional); `directions(k)` gives the model's top-k directions (asked only
    when the recipe moves along one). Raises RecipeError for classes the model lacks."""
    recipe.check_model(num_classes)
    seeds = recipe.path_seeds
    i, j, u = walk_position(len(seeds), recipe.t, recipe.easing)  # 1. path
    if u == 0.0:  # 2. z, exact at the seeds
        z = z_from_seed(seeds[i], nz)
    elif u == 1.0:
        z = z_from_seed(seeds[j], nz)
    else:
        z = interpolate(z_from_seed(seeds[i], nz), z_from_seed(seeds[j], nz), u, recipe.mode)
    if recipe.psi != 1.0:  # 3. truncation
        z = truncate(z, recipe.psi)
    values = recipe.directions[: recipe.directions_k]
    if any(values):  # 4. directions
        if directions is None:
            raise ValueError("this recipe moves along latent directions: give the model's directions")
        z = directions(recipe.directions_k).apply(z, values)
    if not num_classes:  # 5. classes
        return Inputs(z, None, None)
    if recipe.class_a < 0 and recipe.class_b < 0:
        a, b, mix = seed_class(seeds[i], num_classes), seed_class(seeds[j], num_classes), u
    else:
        a = class_of(recipe.class_a, recipe.seed_a, num_classes)
        b = class_of(recipe.class_b, recipe.seed_b, num_classes)
        mix = recipe.t if recipe.mix_follows_t else recipe.mix
    if a == b or mix == 0.0:
        return Inputs(z, a, None)
    if mix == 1.0:
        return Inputs(z, b, None)
    return Inputs(z, None, (a, b, float(mix)))
