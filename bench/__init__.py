"""GAN Studio's benchmarks: measured figures beside the project's goals.

    python -m bench train|data|peak|render|http [options]     (python -m bench --help)

Tooling on top of the app, outside the library's import path: `gan_core` never imports or names
it. Each subcommand lives in its own module (train, data, peak, render, http); the goals and the
verdict text live in `goals`, shared timing helpers in `timing`, the background training load of
the latency benchmarks in `load`. Importing the package does no work.
"""
