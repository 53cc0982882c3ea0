"""Train: choose a model and its settings, estimate the time, launch a background training.

The form is a RunConfig (ui.train_form maps its widgets to options by dotted name); a
ConfigError is shown under the widget of the field it names."""

import streamlit as st

from ui import access, cached, choice_url, doctor_view, run_control, run_views, train_form, visibility
from ui.admission import admission
from ui.live import format_eta
from ui.nav import through_studio
from ui.train_form import (ARCHS, DEVICES, DIFFAUG_OPS, G_OUTPUTS, G_UPSAMPLES, IMAGE_SIZES, LOSSES, PACKS, ConfigError,
                           dataset_warnings, presets)

through_studio()

KNOWN = {"builtin:mnist": {"images": 60000, "classes": 10, "side": 28},
         "builtin:orl-faces": {"images": 320, "classes": 40, "side": 112}}

st.title("Train")
st.caption("Training runs as a separate background process with its own run folder: you can close this page, "
           "reload it or watch several runs, and it keeps going until it finishes or you stop it.")

choices = visibility.visible_choices(doctor_view.all_choices())
if not choices:
    st.info("No dataset yet: pick or upload one on the Data page.")
    st.stop()
keys = [c.key for c in choices]
labels = {c.key: c.label for c in choices}
current = choice_url.chosen_dataset(keys) or keys[0]  # the session's choice, else the URL's (a reload)


def facts_for(key: str) -> dict:
    """Image and class counts and the typical picture side of a dataset (from the doctor, which
    caches its reports)."""
    if key in KNOWN:
        return KNOWN[key]
    known = st.session_state.get("dataset_facts", {}).get(key)
    if known and "counts" in known:  # the Data page stores the counts only
        return known
    choice = doctor_view.resolve_choice(key)
    report = cached.doctor_report(choice.source, doctor_view.source_stamp(choice.source), 64)
    s = doctor_view.summary(report)
    st.session_state.setdefault("dataset_facts", {})[key] = {
        "images": s["images"], "classes": s["classes"], "side": presets.typical_side(report.sizes),
        "counts": dict(report.class_counts)}
    return st.session_state["dataset_facts"][key]


def show_form(values: dict) -> None:
    """Put options (by dotted name) into the form's widgets, and remember them."""
    st.session_state["train_values"] = values
    for k, v in train_form.to_widgets(values).items():
        st.session_state[k] = v
    st.session_state["t_length"] = "Steps"


def load_preset(name: str, key: str) -> None:
    """Write a preset's values into the form (keeps the options a preset never sets)."""
    facts = st.session_state.get("dataset_facts", {}).get(key) or KNOWN.get(key) or {}
    show_form(presets.apply(name, st.session_state.get("train_values", {}),
                            has_classes=(facts.get("classes", 0) >= 2) if facts else None,
                            facts=presets.DataFacts(facts.get("images", 0), facts.get("classes", 0), facts.get("side", 0))))


def on_dataset_change() -> None:
    key = st.session_state["t_dataset"]
    st.session_state["dataset_key"] = key
    st.session_state["train_dataset_seen"] = key
    try:
        facts = facts_for(key)
    except doctor_view.DoctorError:
        facts = {}
    name = presets.suggest(doctor_view.resolve_choice(key).source, facts.get("images", 0),
                           facts.get("classes", 0), facts.get("side", 0))
    st.session_state["t_preset"] = name
    load_preset(name, key)


def on_preset_change() -> None:
    load_preset(st.session_state["t_preset"], st.session_state["t_dataset"])


# first visit (or back from another page): seed the form from the remembered values
if "train_values" not in st.session_state or st.session_state.get("train_dataset_seen") != current:
    first_visit = "train_values" not in st.session_state
    st.session_state["train_dataset_seen"] = current
    st.session_state["t_dataset"] = current
    on_dataset_change()
    if first_visit and (named := choice_url.remembered_preset(current)):  # a reload keeps the user's preset
        st.session_state["t_preset"] = named
        load_preset(named, current)
        if kept := choice_url.values_for(current, named):  # ... and the form as the user left it
            show_form({**st.session_state["train_values"], **kept})
for k, v in train_form.to_widgets({**train_form.from_widgets({}), **st.session_state["train_values"]}).items():
    st.session_state.setdefault(k, v)
st.session_state.setdefault("t_length", "Steps")
if st.session_state.get("t_dataset") not in keys:  # e.g. an upload deleted meanwhile
    st.session_state["t_dataset"] = current
st.session_state.setdefault("t_preset", presets.suggest(doctor_view.resolve_choice(current).source))

slots: dict = {}  # dotted option -> the empty slot under its widget, for its ConfigError


def under(col, key: str) -> None:
    slots[key] = col.empty()


# -- the form ---------------------------------------------------------------------------------
c1, c2 = st.columns([3, 2])
with c1:
    st.selectbox("Dataset", keys, format_func=labels.get, key="t_dataset", on_change=on_dataset_change)
    choice = doctor_view.resolve_choice(st.session_state["t_dataset"])
    try:
        facts = facts_for(st.session_state["t_dataset"])
    except doctor_view.DoctorError as exc:
        st.error(f"This dataset cannot be used: {visibility.error_line(exc)}")
        st.stop()
    st.caption(f"{facts['images']:,} images · {facts['classes'] or 'no'} classes · "
               "checked by the dataset doctor (details on the Data page)")
    under(st, "data.source")
with c2:
    st.selectbox("Preset", list(presets.PRESETS), key="t_preset", on_change=on_preset_change)
    st.caption(presets.resolve(st.session_state["t_preset"], presets.DataFacts(
        facts.get("images", 0), facts.get("classes", 0), facts.get("side", 0))).summary)
choice_url.remember_dataset(st.session_state["t_dataset"])
choice_url.remember_preset(st.session_state["t_preset"])

m1, m2, m3, m4 = st.columns(4)
arch = m1.radio("Model", list(ARCHS), key="t_arch", horizontal=True,
                format_func=lambda a: {"dcgan": "DCGAN", "acgan": "ACGAN (class-conditional)",
                                       "r3gan": "R3GAN (modern; class-conditional with classes)"}.get(a, a))
under(m1, "model.arch")
sizes = list(IMAGE_SIZES[arch])
if st.session_state["t_image_size"] not in sizes:
    st.session_state["t_image_size"] = 64
m2.selectbox("Image size (px)", sizes, key="t_image_size")
under(m2, "model.image_size")
m3.selectbox("Loss", list(LOSSES), key="t_loss",
             format_func=lambda k: {"bce": "BCE (non-saturating)", "hinge": "Hinge", "lsgan": "Least squares",
                                    "wgan-gp": "WGAN-GP", "rpgan": "Relativistic pairing (R3GAN)"}.get(k, k))
under(m3, "train.loss")
with m4:
    length = st.radio("Train for", ["Steps", "Epochs"], key="t_length", horizontal=True)
    if length == "Steps":
        st.number_input("Steps", min_value=1, max_value=10_000_000, step=500, key="t_steps",
                        label_visibility="collapsed")
    else:
        if not st.session_state.get("t_epochs"):
            st.session_state["t_epochs"] = 10.0
        st.number_input("Epochs", min_value=0.1, max_value=100000.0, step=1.0, key="t_epochs",
                        label_visibility="collapsed")
    under(st, "train.steps")
    st.number_input("Time limit (minutes, 0 = none)", min_value=0.0, max_value=100_000.0, step=5.0,
                    key="t_minutes", help="Stops cleanly after this many minutes of training (data loading not "
                    "counted) and saves a checkpoint; Resume continues from there.")
    under(st, "train.minutes")

with st.expander("Hyper-parameters", icon=":material/tune:"):
    h = st.columns(4)
    for col, (label, key, lo, hi, kw) in zip(h, [
            ("Batch size", "train.batch_size", 1, 4096, {}),
            ("Learning rate G", "train.lr_g", 1e-6, 1.0, {"format": "%.5f", "step": 1e-5}),
            ("Learning rate D", "train.lr_d", 1e-6, 1.0, {"format": "%.5f", "step": 1e-5}),
            ("Adam beta1", "train.beta1", 0.0, 0.999, {"format": "%.3f", "step": 0.05})]):
        col.number_input(label, lo, hi, key=train_form.widget_key(key), **kw)
        under(col, key)
    h = st.columns(4, vertical_alignment="bottom")
    h[0].number_input("Learning-rate decay (last share of the run, 0 = off)", 0.0, 1.0, key="t_lr_decay",
                      format="%.2f", step=0.05, help="Both learning rates fall by half a cosine over this last share "
                      "of the run (of its steps, or of the time limit when that ends it first). A constant rate "
                      "leaves a floor of noise in the pictures that lowering it at the end removes; the automatic "
                      f"preset decays over at most the last {presets.RECIPE.lr_decay:.0%}, once the judged FD stalls.")
    under(h[0], "train.lr_decay")
    h[1].number_input("Decay to (x the learning rates)", 0.001, 1.0, key="t_lr_final", format="%.3f", step=0.05,
                      disabled=not st.session_state.get("t_lr_decay"),
                      help="The learning rates' multiplier at the end of the run.")
    under(h[1], "train.lr_final")
    h[2].checkbox("Decay once the FD stalls", key="t_lr_decay_plateau",
                  disabled=not st.session_state.get("t_lr_decay"),
                  help="The rates stay constant while each judgement (Judge every N steps) finds the FD at "
                  f"least {train_form.PLATEAU_GAIN:.0%} below its best so far; at the first that does not, within "
                  f"{train_form.PLATEAU_NEAR:g}x the real-vs-real baseline (further out a flat stretch is a pause, not "
                  "the floor), they start to fall, from there "
                  "or from the decay's share of the run if that is later. A set that learns for the whole run "
                  "keeps its rates. The Monitor marks the start on its charts.")
    under(h[2], "train.lr_decay_plateau")
    h[3].number_input("Decay the last share in any case", 0.0, 1.0, key="t_lr_decay_last", format="%.2f",
                      step=0.05, disabled=not (st.session_state.get("t_lr_decay")
                                               and st.session_state.get("t_lr_decay_plateau")),
                      help="With 'Decay once the FD stalls': the rates fall over at least this last share of the "
                      "run even when the judge finds no plateau (a run still learning at its end gains from a short "
                      "anneal); 0 = only after a plateau. The automatic preset uses "
                      + ", ".join(f"{v:g} at {k} px" for k, v in presets.RECIPE.lr_decay_last.items()) + ".")
    under(h[3], "train.lr_decay_last")
    h = st.columns(4, vertical_alignment="bottom")
    h[0].number_input("EMA decay (0 = off)", 0.0, 0.99999, key="t_ema", format="%.4f", step=0.001)
    under(h[0], "train.ema")
    h[1].multiselect("DiffAugment", list(DIFFAUG_OPS), key=train_form.DIFFAUG_WIDGET,
                     help="Differentiable augmentation for small sets (< 1,000 images).")
    under(h[1], "train.diffaug")
    h[2].number_input("Label smoothing", 0.0, 0.49, key="t_label_smoothing", format="%.2f", step=0.05)
    under(h[2], "train.label_smoothing")
    h[3].checkbox("Random horizontal flips", key="t_hflip")
    h = st.columns(4, vertical_alignment="bottom")
    acgan = arch in ("acgan", "r3gan")  # the models with a class loss
    h[0].number_input("Class-loss weight (ACGAN, R3GAN)", 0.0, 100.0, key="t_aux_weight", format="%.2f", step=0.5,
                      disabled=not acgan, help="Weight of the classification loss against the real/fake loss "
                      "(1 in the ACGAN paper). Higher makes samples follow their class more closely.")
    under(h[0], "train.aux_weight")
    h[1].checkbox("Real-only class loss", key=train_form.REAL_ONLY_WIDGET, disabled=not acgan,
                  help="ACGAN: D's classifier learns from real images only. The paper also trains it on "
                  "generated images, which lets G win the class loss with images that are easy to classify "
                  "rather than right. Real-only made the shipped models follow their classes better (see "
                  "their model cards).")
    judged = run_control.has_judge(choice.source)
    h[2].number_input("Judge every N steps (0 = off)", 0, 1_000_000, step=100, key="t_eval_every",
                      disabled=not judged,
                      help="Scores 1,000 samples with the dataset's judge (FD, precision/recall, class agreement): "
                      "the shipped one for MNIST and ORL faces, for an upload a classifier trained once on its own "
                      "images (a label-free embedding without classes) "
                      "and charts them on the Monitor; the best-scoring checkpoint is kept as 'best'. "
                      + ("" if judged else "Only MNIST and ORL faces have judges."))
    under(h[2], "train.eval_every")
    wgan = st.session_state["t_loss"] == "wgan-gp"
    h[3].number_input("R1 penalty γ (0 = off)", 0.0, 1000.0, key="t_r1_gamma", format="%.2f", step=0.1,
                      disabled=wgan, help="Penalises the discriminator's gradient on real images (Mescheder et al. "
                      "2018), which keeps it from overpowering the generator. Try 0.1 to 10; computed every 16 steps. "
                      + ("WGAN-GP has its own gradient penalty." if wgan else ""))
    under(h[3], "train.r1_gamma")
    h = st.columns(4, vertical_alignment="bottom")
    h[0].number_input("R2 penalty γ (0 = off)", 0.0, 1000.0, key="t_r2_gamma", format="%.2f", step=0.1,
                      help="The same zero-centred gradient penalty on generated images (R3GAN uses R1 = R2).")
    under(h[0], "train.r2_gamma")
    h[1].number_input("EMA half-life (k images, 0 = use the decay)", 0.0, 100_000.0, key="t_ema_halflife_kimg",
                      format="%.1f", step=1.0, help="The generator copy's average forgets half its past every this "
                      "many thousand images; replaces the EMA decay when above 0.")
    under(h[1], "train.ema_halflife_kimg")
    h[2].number_input("Adaptive augmentation target (0 = off)", 0.0, 0.99, key="t_ada_target", format="%.2f",
                      step=0.05, help="ADA: the DiffAugment ops (all, when none are chosen) are applied with a "
                      "probability p that rises while D is too sure of the real images; 0.6 is the usual target. "
                      "The Monitor charts p.")
    under(h[2], "train.ada_target")
    h[3].checkbox("Training guard", key="t_guard", help="Keeps the last healthy checkpoints; on NaN, divergence, "
                  "D overpowering, collapse or memorising it rolls back and applies a named remedy (events on the "
                  "Monitor's charts), and stops with a reason when rescues fail.")
    under(h[3], "train.guard")
    h = st.columns(4, vertical_alignment="bottom")
    h[0].number_input("Mode-seeking weight (0 = off)", 0.0, 100.0, key="t_mode_seeking", format="%.2f", step=0.05,
                      help="Generated images come in pairs of one class, and G pays for drawing a pair alike "
                      "(MSGAN, Mao et al. 2019): it keeps a class-conditional model from drawing one picture per "
                      f"class whatever the latent. The automatic preset uses {presets.RECIPE.mode_seeking:g} for labelled sets.")
    under(h[0], "train.mode_seeking")
    r3gan = arch == "r3gan"  # the widgets of train_form.R3GAN_ONLY
    h[1].number_input("D minibatch std group (R3GAN, 0 = off)", 0, 64, key="t_d_mbstd", step=1, disabled=not r3gan,
                      help="StyleGAN's minibatch standard deviation: D sees how alike "
                      "the images in each group of this many are. It did not stop per-class collapse in our "
                      "measurements (groups mix classes); it targets unconditional collapse.")
    under(h[1], "model.d_mbstd")
    h[2].number_input("Fewest channels per stage (R3GAN)", 1, 4096, key="t_min_width", step=8, disabled=not r3gan,
                      help="The stages above 16 px halve their width per doubling down to this floor: more "
                      "channels at 32 and 64 px draw finer detail and cost more per step.")
    under(h[2], "model.min_width")
    h[3].checkbox("G learns the class loss", key="t_aux_in_g", disabled=not r3gan,
                  help="R3GAN: G is also trained to make D's class scores read the requested class (the ACGAN "
                  "generator term). Off, the projection discriminator alone conditions G. Off measured better "
                  "early in a run on digits; together with D's minibatch std it was no better after 10 minutes "
                  "and worse on animal silhouettes, so the automatic preset keeps it on. ACGAN always needs it.")
    under(h[3], "train.aux_in_g")
    h = st.columns(4)
    for col, (label, key, lo, hi) in zip(h, [
            ("Latent size (nz)", "model.nz", 1, 4096), ("Generator width (ngf)", "model.ngf", 1, 4096),
            ("Discriminator width (ndf, 0 = default)", "model.ndf", 0, 4096), ("Seed", "train.seed", 0, 2**31 - 1)]):
        col.number_input(label, lo, hi, key=train_form.widget_key(key))
        under(col, key)
    h = st.columns(4)
    for col, (label, key, hi) in zip(h, [
            ("Log metrics every (steps)", "train.log_every", 100000),
            ("Sample grid every (steps)", "train.sample_every", 1000000),
            ("Checkpoint every (steps)", "train.ckpt_every", 1000000)]):
        col.number_input(label, 1, hi, key=train_form.widget_key(key))
        under(col, key)
    h[3].selectbox("G upsampling (R3GAN)", list(G_UPSAMPLES), key="t_g_upsample", disabled=not r3gan,
                   format_func=lambda k: {"conv": "Nearest 2x + 3x3 conv", "bilinear": "1x1 conv + bilinear 2x"}[k],
                   help="How the generator doubles its resolution between stages. The 3x3 conv learns more "
                   "per step and draws no wavy outlines on faces, but its steps are slower on a CPU and its "
                   "pictures carry a fine grid texture; the 1x1 conv + bilinear measured better for the same "
                   "minutes of CPU training (the r3gan module's notes give the figures).")
    under(h[3], "model.g_upsample")
    h = st.columns(4)
    h[0].selectbox("G output (R3GAN)", list(G_OUTPUTS), key="t_g_output", disabled=not r3gan,
                   format_func=lambda k: {"tanh": "tanh (in [-1, 1])", "linear": "linear (clamped to pixels)"}[k],
                   help="The generator's last layer. tanh squashes the image into [-1, 1], so flat backgrounds and "
                   "hard edges come easily; R3GAN's own linear output is clamped only when it becomes pixels. "
                   "tanh learnt far faster on silhouettes (the r3gan module's notes give the figures).")
    under(h[0], "model.g_output")
    h[1].number_input("Judge the decay N more times", 0, 1000, step=1, key="t_eval_decay",
                      disabled=not (judged and st.session_state.get("t_lr_decay")),
                      help="With 'Judge every N steps' and a decay: this many more judgements, spread evenly over "
                      "the decay, and one where the run stops (its time limit, or Stop). The steps' judgements follow "
                      "the planned steps, which a time limit may cut short; these make sure 'best', the run's result "
                      "(Publish and the evaluate CLI take it), is chosen from the run's end too. The automatic "
                      f"preset uses {presets.RECIPE.eval_decay}.")
    under(h[1], "train.eval_decay")
    h[2].selectbox("D judges images in groups of (R3GAN)", list(PACKS), key="t_d_pack", disabled=not r3gan,
                   help="PacGAN: D reads this many images at once (for a labelled set, of one class), so a "
                   "generator drawing alike pictures for different latents is caught, and each D step costs "
                   "about 1/N as much: more steps in the same minutes. The automatic preset uses "
                   f"{presets.RECIPE.d_pack[32]} for labelled sets at 32 px (the presets module's notes give the figures); the batch "
                   "must be a multiple of it.")
    under(h[2], "model.d_pack")

dev = cached.device_summary()
cuda = bool(dev.get("cuda"))
cores = int(dev.get("cpu_cores") or 1)
d1, d2 = st.columns(2)
with d1:
    gpu = dev["gpus"][0]["name"] if dev.get("gpus") else None
    n_gpus = len(dev.get("gpus") or [])
    usable = {"auto": True, "cpu": True, "cuda": cuda, "mps": bool(dev.get("mps"))}
    devices = [d for d in DEVICES if usable.get(d)] + (["all-gpus"] if n_gpus > 1 else [])
    if st.session_state.get("t_device") not in devices:
        st.session_state["t_device"] = "auto"
    st.selectbox("Device", devices, key="t_device",
                 format_func={"auto": f"Automatic ({gpu or 'CPU'})", "cpu": "CPU", "cuda": f"CUDA GPU ({gpu})",
                              "mps": "Apple GPU (MPS)",
                              "all-gpus": f"All {n_gpus} GPUs (one process each, DistributedDataParallel)"}.get)
    under(st, "train.device")
with d2:
    use_all = st.checkbox(f"Use all {cores} CPU cores (the live panel will be slower)", key="t_all_cores")
    threads = run_control.default_threads(cores, use_all)
    st.caption(f"Training uses {threads} CPU thread(s)" + (
        ", leaving a core free so the pages and the Explore panel stay responsive" if threads < cores else "") + ".")

title = st.text_input("Run name", key="t_title", max_chars=64,
                      placeholder=f"{labels[st.session_state['t_dataset']].split(' (')[0]}-{arch}")

# -- the run ---------------------------------------------------------------------------------
values = train_form.from_widgets(st.session_state)
st.session_state["train_values"] = dict(values)
choice_url.remember_form(st.session_state["t_dataset"], st.session_state["t_preset"], values)
gpus = 1
if values["train.device"] == "all-gpus":  # torchrun, one process per GPU; the batch stays the global batch
    values = dict(values, **{"train.device": "cuda"})
    gpus = n_gpus
values["train.threads"] = threads
epochs = float(st.session_state["t_epochs"]) if length == "Epochs" else 0.0
cfg, problem = None, None
try:
    cfg = train_form.build(values, choice.source, judged=judged, epochs=epochs, num_images=facts.get("images"),
                           num_classes=facts.get("classes"))
except ConfigError as exc:
    problem = exc
for warning in dataset_warnings(values["model.arch"], facts.get("counts", {}), facts.get("images", 0)):
    st.warning(warning)
if problem is not None:
    text = str(problem)
    text = text[0].upper() + text[1:]
    slot = slots.get(problem.field)
    (slot.error if slot is not None else st.error)(text)

on_gpu = cuda and values["train.device"] != "cpu"
adm = admission(len(run_views.active_runs()), cores, on_gpu)
if not adm.allowed:
    st.error(adm.message)
elif adm.message:
    st.warning(adm.message)

locked = access.read_only("time or start trainings")
b1, b2, _ = st.columns([1, 2, 2])
estimate = b1.button("Estimate time", disabled=cfg is None or problem is not None or locked, icon=":material/timer:",
                     help="Times training steps as the run will do them (same threads, precision and layout; "
                     "warm-up not counted) plus one sample grid, checkpoint and judge run, and predicts the total time.")
dataset_name = choice.label.split(" (")[0]
start = b2.button(f"Start training on {dataset_name}", type="primary", icon=":material/play_arrow:",
                  disabled=cfg is None or problem is not None or not adm.allowed or locked)

if estimate and cfg is not None:
    with st.spinner("Timing training steps, a sample grid and a checkpoint on the chosen device…"):
        try:
            st.session_state["estimate"] = (cfg.to_dict(), run_control.calibrate(cfg, steps=20))
        except run_control.JobError as exc:
            st.session_state.pop("estimate", None)
            st.error(f"The estimate failed: {exc}")
est = st.session_state.get("estimate")
if est and cfg is not None and est[0] == cfg.to_dict():
    e = est[1]
    cols = st.columns(4)
    cols[0].metric("Per step", f"{e['ms_per_step']:.1f} ms")
    cols[1].metric("Throughput", f"{e['img_per_s']:,.0f} img/s")
    cols[2].metric("Steps", f"{e['steps']:,}", help=f"{e['steps_per_epoch']:,} steps per epoch")
    capped = bool(e.get("budget_s")) and e["eta_s"] < e.get("loop_s", e["eta_s"])
    cols[3].metric("Estimated time", format_eta(e["eta_s"]), help="Stops at the time limit" if capped else None)
    extra = (f"; sample grids, checkpoints, logs and judging add {format_eta(e['overhead_s'])}"
             if e.get("overhead_s") else "")
    st.caption(f"Measured on {e['device']} with {e['threads']} thread(s) over {e.get('timed_steps', 0):,} steps after "
               f"{e.get('warmup_steps', 0)} warm-up steps; generator {e['generator_params']:,} and discriminator "
               f"{e['discriminator_params']:,} parameters{extra}. Loading the data first takes about "
               f"{format_eta(e['data_load_s'])}." + (f" The time limit stops it after {format_eta(e['budget_s'])} "
               f"(the steps would take {format_eta(e['loop_s'])})." if capped else ""))

if start and cfg is not None:
    try:
        info = run_control.launch(cfg, title or "", dataset_name, gpus=gpus, cuda=on_gpu)
    except run_control.JobError as exc:
        st.error(str(exc))
    else:
        st.session_state["monitor_run"] = info.name
        st.session_state.pop("monitor_pick", None)
        st.switch_page("pages/monitor.py")
