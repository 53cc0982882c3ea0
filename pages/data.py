"""Data: pick a built-in set or upload images, then let the dataset doctor check them."""

import streamlit as st

from ui import access, cached, charts, choice_url, doctor_view, uploads, visibility
from ui.display import for_display
from ui.nav import through_studio

through_studio()

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff", "pgm", "ppm"]
MODES = ["Built-in", "Upload a .zip", "Upload images", "My uploads"]

st.title("Data")
st.caption("Pick a built-in dataset or upload your own images. The dataset doctor checks them before any "
           "training: counts, classes, sizes, broken files, duplicates, and what the model will actually see.")

# a reload (or a link) with ?dataset= opens on that dataset: an upload under "My uploads"
restored = choice_url.chosen_dataset([c.key for c in visibility.visible_choices(doctor_view.all_choices())])
if restored and "data_mode" not in st.session_state:
    st.session_state["data_mode"] = "My uploads" if restored.startswith("upload:") else "Built-in"
mode = st.radio("Where are the images?", MODES[:1] if access.read_only("upload or delete data") else MODES,
                horizontal=True, key="data_mode")


def choose(key: str) -> None:
    st.session_state["dataset_key"] = key


# the dataset the doctor reports on: the chosen one; in the upload modes only what was uploaded there
# (never the previous dataset's report before anything is uploaded)
shown: str | None = None


if mode == "Built-in":
    options = [c.key for c in doctor_view.builtin_choices()]
    labels = {c.key: c.label for c in doctor_view.builtin_choices()}
    current = st.session_state.get("dataset_key")
    picked = st.radio("Built-in dataset", options, format_func=labels.get, key="data_builtin",
                      index=options.index(current) if current in options else 0)
    choose(picked)

elif mode == "Upload a .zip":
    st.markdown("A zip of images: **one sub-folder per class** (e.g. `cats/`, `dogs/`) for class-conditional "
                "training, or just images. Best for large sets.")
    zf = st.file_uploader("Dataset archive (.zip)", type=["zip"], key="zip_upload")
    if zf is not None:
        saved = st.session_state.setdefault("saved_uploads", {})
        if zf.file_id not in saved:
            with st.spinner(f"Unpacking {zf.name} safely…"):
                try:
                    up = uploads.save_zip(zf.name, zf.getvalue())
                except uploads.UploadError as exc:
                    saved[zf.file_id] = ("error", str(exc))
                else:
                    saved[zf.file_id] = ("ok", up.name, up.files, len(up.skipped))
                    choose(f"upload:{up.name}")
        result = saved[zf.file_id]
        if result[0] == "error":
            st.error(f"This upload cannot be used: {result[1]}")
        else:
            shown = f"upload:{result[1]}"
            st.success(f"Saved as **{result[1]}** ({result[2]:,} files unpacked"
                       + (f", {result[3]} unsafe or broken members left out" if result[3] else "") + ").")

elif mode == "Upload images":
    how = st.radio("Pick", ["Image files", "A whole folder"], horizontal=True, key="files_how",
                   help="A folder keeps its sub-folders as classes. For more than a few thousand images, "
                        "upload a zip instead.")
    files = st.file_uploader("Images", type=IMAGE_TYPES, key=f"files_upload_{how}",
                             accept_multiple_files=True if how == "Image files" else "directory")
    name = st.text_input("Name for this dataset", value="my-images", key="files_name", max_chars=64)
    if files and st.button(f"Save {len(files)} file(s) as a dataset", type="primary"):
        with st.spinner("Saving…"):
            try:
                up = uploads.save_files([(f.name, f.getvalue()) for f in files], name)
            except uploads.UploadError as exc:
                st.error(f"These files cannot be saved: {exc}")
            else:
                choose(f"upload:{up.name}")
                st.session_state["files_saved"] = f"upload:{up.name}"
                st.success(f"Saved {up.files:,} file(s) as **{up.name}**"
                           + (f" ({len(up.skipped)} left out)" if up.skipped else "") + ".")

else:  # My uploads
    ups = doctor_view.upload_choices()
    if not ups:
        st.info("Nothing uploaded yet.")
    else:
        keys = [c.key for c in ups]
        labels = {c.key: c.label for c in ups}
        current = st.session_state.get("dataset_key")
        picked = st.selectbox("Uploaded dataset", keys, format_func=labels.get, key="data_upload_pick",
                              index=keys.index(current) if current in keys else 0)
        choose(picked)
        with st.popover("Delete this dataset", icon=":material/delete:"):
            st.write("The uploaded files are removed from the app's data folder. Runs trained on it keep "
                     "their checkpoints but cannot be resumed.")
            if st.button("Delete for good", type="primary", key="delete_upload"):
                uploads.delete_upload(picked.split(":", 1)[1])
                st.session_state.pop("dataset_key", None)
                st.rerun()

# -- the dataset doctor ---------------------------------------------------------------------
if mode in ("Built-in", "My uploads"):
    shown = st.session_state.get("dataset_key")
elif mode == "Upload images" and files:
    shown = st.session_state.get("files_saved")
key = shown
st.divider()
if not key:
    st.info("Upload a dataset to check it: the dataset doctor reports on it here." if mode.startswith("Upload")
            else "Choose or upload a dataset to check it.")
    st.stop()
try:
    choice = doctor_view.resolve_choice(key)
except ValueError as exc:
    st.error(f"The chosen dataset is no longer available ({visibility.error_line(exc)}). Choose another one.")
    st.session_state.pop("dataset_key", None)
    st.stop()

choice_url.remember_dataset(key)
st.subheader(f"Dataset doctor · {choice.label}")
size = st.select_slider("Check at image size (px)", [32, 64, 96, 128], key="doctor_size",
                        value=32 if choice.source == "mnist" else 64,
                        help="The preview shows images after resize + center crop to this size.")
with st.spinner("Checking every image…"):
    try:
        report = cached.doctor_report(choice.source, doctor_view.source_stamp(choice.source), size)
    except doctor_view.DoctorError as exc:
        st.error(f"This dataset cannot be used: {visibility.error_line(exc)}")
        st.stop()

s = doctor_view.summary(report)
st.session_state.setdefault("dataset_facts", {})[key] = {"images": s["images"], "classes": s["classes"]}
m = st.columns(6)
m[0].metric("Usable images", f"{s['images']:,}")
m[1].metric("Classes", s["classes"] or "none")
m[2].metric("Skipped files", s["skipped"])
m[3].metric("Exact duplicate groups", s["exact_duplicate_groups"])
m[4].metric("Near-duplicate pairs", f"{s['near_duplicate_pairs']:,}",
            help="Pairs proposed by a perceptual hash and confirmed on pixels (aligned, brightness-normalised).")
m[5].metric("Channels", {1: "grey", 3: "colour"}.get(s["channels"], s["channels"]))

if s["images"] == 0:
    st.error("No usable images were found, so there is nothing to train on. See the skipped files below.")

advice = list(report.advice)
if s["classes"] == 0 and s["images"]:
    advice.append("no class folders: train a DCGAN. An ACGAN needs one sub-folder per class (e.g. cats/, dogs/)")
elif s["classes"] == 1:
    advice.append("only one class folder: an ACGAN needs at least two classes; train a DCGAN")
if 0 < s["images"] < 1000:
    advice.append("small set: the Train page starts from the DiffAugment preset")
if advice:
    st.info("**Advice**\n\n" + "\n".join(f"- {a[0].upper() + a[1:]}" for a in advice))

if s["images"]:
    if st.button("Use this dataset for training →", type="primary", key="use_dataset_top"):
        st.session_state["dataset_key"] = key
        st.switch_page("pages/train.py")

left, right = st.columns([3, 2])
with left:
    grid = doctor_view.preview_grid(report)
    if grid is not None:
        st.markdown("**What the model will see** (after resize and center crop)")
        st.image(for_display(grid, min_width=560, max_factor=4))
with right:
    if report.class_counts:
        st.plotly_chart(charts.class_balance_figure(report.class_counts), key="balance")
        if s["imbalance"] and s["imbalance"] > 3:
            st.warning(f"Classes are unbalanced: the largest has {s['imbalance']:.1f}× the images of the smallest.")
    c1, c2 = st.columns(2)
    c1.markdown("**Original sizes**")
    c1.table(doctor_view.table(report.sizes, "size")[:8])
    if len(report.sizes) > 8:
        c1.caption(f"… and {len(report.sizes) - 8} more sizes")
    c2.markdown("**Colour modes**")
    c2.table(doctor_view.table(report.modes, "mode"))

if report.skipped:
    with st.expander(f"Skipped files ({len(report.skipped)}) and why", expanded=s["images"] == 0):
        st.dataframe(doctor_view.reason_rows(report.skipped), hide_index=True)
if report.converted:
    with st.expander(f"Converted files ({len(report.converted)})"):
        st.dataframe(doctor_view.reason_rows(report.converted), hide_index=True)
if report.exact_duplicates or report.near_duplicate_count:
    with st.expander(doctor_view.duplicates_heading(report, shown=8)):
        for group in report.exact_duplicates[:8]:
            thumbs = [t for t in (doctor_view.thumbnail(choice.source, r) for r in group[:6]) if t is not None]
            st.caption("identical: " + ", ".join(group[:6]) + (" …" if len(group) > 6 else ""))
            if thumbs:
                st.image(thumbs)
        for pair in report.near_duplicates[:8]:
            thumbs = [t for t in (doctor_view.thumbnail(choice.source, r) for r in pair[:2]) if t is not None]
            st.caption(doctor_view.near_duplicate_caption(pair))
            if thumbs:
                st.image(thumbs)
