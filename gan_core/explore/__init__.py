"""The latent explorer's model: recipes, recipe -> generator inputs, and the files that carry them.

    recipe.py   Recipe (validated, versioned data naming one image) and its value checks
    codec.py    reading recipes from JSON, links, PNG/GIF exports; writing those exports
    inputs.py   recipe -> (z, class or class blend): the latent maths, step by step

Pixels come from `gan_core.render.RenderService.render_recipe` (and `render_recipes` for
batches: grids, strips, animation frames). Pure NumPy; no UI package is imported here.
"""

from .codec import (MAX_FILE, MAX_TEXT, PNG_KEY, from_bytes, from_dict, from_image, from_json,
                    from_url, gif_bytes, png_bytes)
from .inputs import Inputs, recipe_inputs
from .recipe import (DIRECTION_RANGE, FPS_RANGE, FRAMES_RANGE, MAX_DIRECTIONS, MAX_KEYFRAMES, MODES,
                     PSI_RANGE, VERSION, Recipe, RecipeError, check_class, check_float, check_frames,
                     check_int, check_mode, check_psi, check_seed, check_t, clamp_directions)

__all__ = [
    "DIRECTION_RANGE", "FPS_RANGE", "FRAMES_RANGE", "Inputs", "MAX_DIRECTIONS", "MAX_FILE", "MAX_KEYFRAMES",
    "MAX_TEXT", "MODES", "PNG_KEY", "PSI_RANGE", "Recipe", "RecipeError", "VERSION", "check_class",
    "check_float", "check_frames", "check_int", "check_mode", "check_psi", "check_seed", "check_t",
    "clamp_directions", "from_bytes", "from_dict", "from_image", "from_json", "from_url", "gif_bytes",
    "png_bytes", "recipe_inputs",
]
