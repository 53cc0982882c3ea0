"""Train: choose a model and its settings, estimate the time, launch a background training."""

from dataclasses import asdict

import streamlit as st

from ui import cached, doctor_view, jobs, presets
from ui.live import format_eta
from ui.nav import through_studio

through_studio()

KNOWN = {"builtin:mnist": {"images": 60000, "classes": 10}, "builtin:orl-faces": {"images": 320, "classes": 40}}
AUG_OPS = ["translation", "cutout", "color"]
FIELDS = [f for f in asdict(jobs.TrainSpec(dataset="")) if f not in ("dataset", "dataset_label")]

st.title("Train")
st.caption("Training runs as a separate background process with its own run folder: you can close this page, "
           "reload it or watch several runs, and it keeps going until it finishes or you stop it.")

choices = doctor_view.all_choices()
if not choices:
    st.info("No dataset yet: pick or upload one on the Data page.")
    st.stop()
keys = [c.key for c in choices]
labels = {c.key: c.label for c in choices}
current = st.session_state.get("dataset_key")
if current not in keys:
    current = keys[0]


def facts_for(key: str) -> dict:
    """Image and class counts of a dataset (from the doctor, which caches its reports)."""
    if key in KNOWN:
        return KNOWN[key]
    known = st.session_state.get("dataset_facts", {}).get(key)
    if known:
        return known
    choice = doctor_view.resolve_choice(key)
    report = cached.doctor_report(choice.source, doctor_view.source_stamp(choice.source), 64)
    s = doctor_view.summary(report)
    st.session_state.setdefault("dataset_facts", {})[key] = {"images": s["images"], "classes": s["classes"]}
    return st.session_state["dataset_facts"][key]


def load_preset(name: str, key: str) -> None:
    """Write a preset's values into the form (keeps the fields the preset does not set)."""
    facts = st.session_state.get("dataset_facts", {}).get(key) or KNOWN.get(key) or {}
    spec = presets.apply(name, st.session_state.get("train_spec", {}), has_classes=(facts.get("classes", 0) >= 2)
                         if facts else None)
    st.session_state["train_spec"] = spec
    for f in FIELDS:
        if f in spec:
            st.session_state[f"t_{f}"] = spec[f]
    st.session_state["t_diffaug_ops"] = [o for o in spec.get("diffaug", "").split(",") if o]
    st.session_state["t_length"] = "Steps"


def on_dataset_change() -> None:
    key = st.session_state["t_dataset"]
    st.session_state["dataset_key"] = key
    st.session_state["train_dataset_seen"] = key
    try:
        facts = facts_for(key)
    except doctor_view.DoctorError:
        facts = {}
    name = presets.suggest(doctor_view.resolve_choice(key).source, facts.get("images", 0), facts.get("classes", 0) >= 2)
    st.session_state["t_preset"] = name
    load_preset(name, key)


def on_preset_change() -> None:
    load_preset(st.session_state["t_preset"], st.session_state["t_dataset"])


# first visit (or back from another page): seed the form from the remembered spec
if "train_spec" not in st.session_state or st.session_state.get("train_dataset_seen") != current:
    st.session_state["train_dataset_seen"] = current
    st.session_state["t_dataset"] = current
    on_dataset_change()
for f in FIELDS:
    st.session_state.setdefault(f"t_{f}", st.session_state["train_spec"].get(f, getattr(jobs.TrainSpec(""), f)))
st.session_state.setdefault("t_diffaug_ops", [o for o in st.session_state["train_spec"].get("diffaug", "").split(",") if o])
st.session_state.setdefault("t_length", "Steps")
if st.session_state.get("t_dataset") not in keys:  # e.g. an upload deleted meanwhile
    st.session_state["t_dataset"] = current
st.session_state.setdefault("t_preset", presets.suggest(doctor_view.resolve_choice(current).source))

# -- the form ---------------------------------------------------------------------------------
c1, c2 = st.columns([3, 2])
with c1:
    st.selectbox("Dataset", keys, format_func=labels.get, key="t_dataset", on_change=on_dataset_change)
    choice = doctor_view.resolve_choice(st.session_state["t_dataset"])
    try:
        facts = facts_for(st.session_state["t_dataset"])
    except doctor_view.DoctorError as exc:
        st.error(f"This dataset cannot be used: {exc}")
        st.stop()
    st.caption(f"{facts['images']:,} images · {facts['classes'] or 'no'} classes · "
               "checked by the dataset doctor (details on the Data page)")
with c2:
    st.selectbox("Preset", list(presets.PRESETS), key="t_preset", on_change=on_preset_change)
    st.caption(presets.PRESETS[st.session_state["t_preset"]].summary)

m1, m2, m3, m4 = st.columns(4)
model = m1.radio("Model", ["dcgan", "acgan"], key="t_model", horizontal=True,
                 format_func={"dcgan": "DCGAN", "acgan": "ACGAN (class-conditional)"}.get)
sizes = [32, 64] if model == "acgan" else [32, 64, 96, 128]
if st.session_state["t_image_size"] not in sizes:
    st.session_state["t_image_size"] = 64
m2.selectbox("Image size (px)", sizes, key="t_image_size")
m3.selectbox("Loss", ["bce", "hinge", "lsgan", "wgan-gp"], key="t_loss",
             format_func={"bce": "BCE (non-saturating)", "hinge": "Hinge", "lsgan": "Least squares",
                          "wgan-gp": "WGAN-GP"}.get)
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

with st.expander("Hyper-parameters", icon=":material/tune:"):
    h = st.columns(4)
    h[0].number_input("Batch size", 1, 4096, key="t_batch_size")
    h[1].number_input("Learning rate G", 1e-6, 1.0, key="t_lr_g", format="%.5f", step=1e-5)
    h[2].number_input("Learning rate D", 1e-6, 1.0, key="t_lr_d", format="%.5f", step=1e-5)
    h[3].number_input("Adam beta1", 0.0, 0.999, key="t_beta1", format="%.3f", step=0.05)
    h = st.columns(4, vertical_alignment="bottom")
    h[0].number_input("EMA decay (0 = off)", 0.0, 0.99999, key="t_ema", format="%.4f", step=0.001)
    h[1].multiselect("DiffAugment", AUG_OPS, key="t_diffaug_ops",
                     help="Differentiable augmentation for small sets (< 1,000 images).")
    h[2].number_input("Label smoothing", 0.0, 0.49, key="t_label_smoothing", format="%.2f", step=0.05)
    h[3].checkbox("Random horizontal flips", key="t_hflip")
    h = st.columns(4, vertical_alignment="bottom")
    acgan = model == "acgan"
    h[0].number_input("Class-loss weight (ACGAN)", 0.0, 100.0, key="t_aux_weight", format="%.2f", step=0.5,
                      disabled=not acgan, help="Weight of the classification loss against the real/fake loss "
                      "(1 in the ACGAN paper). Higher makes samples follow their class more closely.")
    h[1].checkbox("Real-only class loss", key="t_aux_real_only", disabled=not acgan,
                  help="ACGAN: D's classifier learns from real images only. The paper also trains it on "
                  "generated images, which lets G win the class loss with images that are easy to classify "
                  "rather than right. Real-only made the shipped models follow their classes better (see "
                  "their model cards).")
    judged = jobs.has_judge(choice.source)
    h[2].number_input("Judge every N steps (0 = off)", 0, 1_000_000, step=100, key="t_eval_every",
                      disabled=not judged,
                      help="Scores 1,000 samples with the shipped judge (FD, precision/recall, class agreement) "
                      "and charts them on the Monitor; the best-scoring checkpoint is kept as 'best'. "
                      + ("" if judged else "Only MNIST and ORL faces have judges."))
    wgan = st.session_state["t_loss"] == "wgan-gp"
    h[3].number_input("R1 penalty γ (0 = off)", 0.0, 1000.0, key="t_r1", format="%.2f", step=0.1, disabled=wgan,
                      help="Penalises the discriminator's gradient on real images (Mescheder et al. 2018), "
                      "which keeps it from overpowering the generator. Try 0.1 to 10; computed every 16 steps. "
                      + ("WGAN-GP has its own gradient penalty." if wgan else ""))
    h = st.columns(4)
    h[0].number_input("Latent size (nz)", 1, 4096, key="t_nz")
    h[1].number_input("Generator width (ngf)", 1, 4096, key="t_ngf")
    h[2].number_input("Discriminator width (ndf, 0 = default)", 0, 4096, key="t_ndf")
    h[3].number_input("Seed", 0, 2**31 - 1, key="t_seed")
    h = st.columns(4)
    h[0].number_input("Log metrics every (steps)", 1, 100000, key="t_log_every")
    h[1].number_input("Sample grid every (steps)", 1, 1000000, key="t_sample_every")
    h[2].number_input("Checkpoint every (steps)", 1, 1000000, key="t_ckpt_every")

dev = cached.device_summary()
cuda = bool(dev.get("cuda"))
cores = int(dev.get("cpu_cores") or 1)
d1, d2 = st.columns(2)
with d1:
    gpu = dev["gpus"][0]["name"] if dev.get("gpus") else None
    n_gpus = len(dev.get("gpus") or [])
    st.selectbox("Device", ["auto", "cpu"] + (["cuda"] if cuda else []) + (["all-gpus"] if n_gpus > 1 else []),
                 key="t_device",
                 format_func={"auto": f"Automatic ({gpu or 'CPU'})", "cpu": "CPU", "cuda": f"CUDA GPU ({gpu})",
                              "all-gpus": f"All {n_gpus} GPUs (one process each, DistributedDataParallel)"}.get)
with d2:
    use_all = st.checkbox(f"Use all {cores} CPU cores (the live panel will be slower)", key="t_all_cores")
    threads = jobs.default_threads(cores, use_all)
    st.caption(f"Training uses {threads} CPU thread(s)" + (
        ", leaving a core free so the pages and the Explore panel stay responsive" if threads < cores else "") + ".")

title = st.text_input("Run name", key="t_title", max_chars=64,
                      placeholder=f"{labels[st.session_state['t_dataset']].split(' (')[0]}-{model}")

# -- the spec --------------------------------------------------------------------------------
values = {f: st.session_state[f"t_{f}"] for f in FIELDS}
values["diffaug"] = ",".join(st.session_state["t_diffaug_ops"])
values["threads"] = threads
if values["device"] == "all-gpus":  # torchrun, one process per GPU; --batch-size stays the global batch
    values["device"], values["gpus"] = "cuda", len(dev.get("gpus") or [])
values["epochs"] = float(st.session_state["t_epochs"]) if length == "Epochs" else 0.0
st.session_state["train_spec"] = values
spec = jobs.TrainSpec.from_dict(dict(values, dataset=choice.source, dataset_label=choice.label.split(" (")[0]))
problems = jobs.check_spec(spec, facts.get("classes"), facts.get("images"))
for p in problems:
    st.error(p[0].upper() + p[1:])

adm = jobs.admission(len(jobs.active_runs()), cores, cuda and spec.device != "cpu")
if not adm.allowed:
    st.error(adm.message)
elif adm.message:
    st.warning(adm.message)

b1, b2, _ = st.columns([1, 1, 3])
estimate = b1.button("Estimate time", disabled=bool(problems), icon=":material/timer:",
                     help="Times 20 training steps on the chosen device and predicts the total time.")
start = b2.button("Start training", type="primary", disabled=bool(problems) or not adm.allowed,
                  icon=":material/play_arrow:")

if estimate:
    with st.spinner("Timing 20 training steps on the chosen device…"):
        try:
            st.session_state["estimate"] = (asdict(spec), jobs.calibrate(spec, steps=20))
        except jobs.JobError as exc:
            st.session_state.pop("estimate", None)
            st.error(f"The estimate failed: {exc}")
est = st.session_state.get("estimate")
if est and est[0] == asdict(spec):
    e = est[1]
    cols = st.columns(4)
    cols[0].metric("Per step", f"{e['ms_per_step']:.1f} ms")
    cols[1].metric("Throughput", f"{e['img_per_s']:,.0f} img/s")
    cols[2].metric("Steps", f"{e['steps']:,}", help=f"{e['steps_per_epoch']:,} steps per epoch")
    cols[3].metric("Estimated time", format_eta(e["eta_s"]))
    st.caption(f"Measured on {e['device']} with {e['threads']} thread(s); generator {e['generator_params']:,} "
               f"and discriminator {e['discriminator_params']:,} parameters. Sample grids and checkpoints add a little.")

if start:
    try:
        info = jobs.launch(spec, title or "", cuda=cuda and spec.device != "cpu")
    except jobs.JobError as exc:
        st.error(str(exc))
    else:
        st.session_state["monitor_run"] = info.name
        st.session_state.pop("monitor_pick", None)
        st.switch_page("pages/monitor.py")
