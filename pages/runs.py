"""Runs: every training with its status and last metrics; compare curves; publish or delete."""

import streamlit as st

from ui import access, catalog, charts, live, paths, publishing, run_control, run_focus, run_views, visibility
from ui.display import ago, fmt
from ui.nav import through_studio

through_studio()

st.title("Runs")
run_control.tick()
runs = visibility.visible_runs(run_views.list_runs())
if not runs:
    st.info("No runs yet: start one on the Train page.")
    st.page_link("pages/train.py", label="Train", icon=":material/model_training:")
    st.stop()

by_name = {r.name: r for r in runs}
table = [{"run": r.title, "status": r.state, "dataset": r.dataset,
          "model": f"{r.model.upper()} {r.image_size}px" if r.model else "", "progress": r.progress,
          "steps": f"{r.step:,} / {r.total_steps:,}" if r.total_steps else f"{r.step:,}",
          "loss D": fmt(r.last.get("loss_d")), "loss G": fmt(r.last.get("loss_g")),
          "D(x)": fmt(r.last.get("d_real")), "D(G(z))": fmt(r.last.get("d_fake")),
          "created": ago(r.created), "folder": r.name} for r in runs]
if any(r.best for r in runs):  # judged runs: the best checkpoint's score, which Publish takes
    for row, r in zip(table, runs):
        tail = {k: row.pop(k) for k in ("created", "folder")}
        row["best judge FD"] = fmt(r.best.get("eval_fd")) if r.best else ""
        row["at step"] = f"{int(r.best['step']):,}" if r.best.get("step") is not None else ""
        row.update(tail)
st.dataframe(table, hide_index=True, key="runs_table",
             column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0,
                                                                        format="percent")})

# -- compare ------------------------------------------------------------------------------
st.subheader("Compare")
with_metrics = [r.name for r in runs if r.last]
c1, c2 = st.columns([3, 1])
picked = c1.multiselect("Runs", with_metrics, default=with_metrics[:3], key="compare_runs",
                        format_func=lambda n: by_name[n].title)
metric = c2.selectbox("Metric", ["loss_g", "loss_d", "d_real", "d_fake", "acc_fake", "img_per_s", "diversity",
                                 "eval_fd", "eval_class_consistency"],
                      key="compare_metric", format_func=lambda k: charts.LABELS.get(k, k))
if picked:
    series = {by_name[n].title: live.read_metrics(by_name[n].path) for n in picked}
    st.plotly_chart(charts.overlay_figure(series, metric), key="overlay")
else:
    st.caption("Pick runs to overlay their curves.")

# -- one run ------------------------------------------------------------------------------
st.subheader("Manage a run")
url_run = st.query_params.get(run_focus.RUN_PARAM)  # the run the user came from (ui.run_focus)
if st.session_state.get("manage_run") not in by_name:
    st.session_state["manage_run"] = run_focus.manage_default(
        list(by_name), url_run if isinstance(url_run, str) else None, st.session_state.get("monitor_run"))
name = st.selectbox("Run", list(by_name), key="manage_run",
                    format_func=lambda n: f"{by_name[n].title} · {n}")
if url_run != name:
    st.query_params[run_focus.RUN_PARAM] = name
info = by_name[name]
if st.button("Open in Monitor", icon=":material/monitoring:", key="open_monitor"):
    st.session_state["monitor_run"] = name
    st.session_state.pop("monitor_pick", None)
    st.switch_page("pages/monitor.py")

if access.read_only("publish, unpublish or delete runs"):
    st.stop()
left, right = st.columns(2)
with left, st.container(border=True):
    st.markdown("**Publish** — the gallery and the Explore panel list published checkpoints by name.")
    if not info.has_checkpoint:
        st.caption("This run has no checkpoint yet.")
    else:
        pub_name = st.text_input("Name", value=paths.safe_name(info.title, "my-model"), max_chars=64,
                                 key=f"pub_name_{name}", help="letters, digits, '.', '_' or '-'")
        which = st.radio("Checkpoint", ["best", "latest"], horizontal=True, key=f"pub_which_{name}",
                         help="best = the best-scoring checkpoint when the run is evaluated, else the newest")
        replace = st.checkbox("Replace a published checkpoint with this name", key=f"pub_replace_{name}")
        if st.button("Publish", type="primary", icon=":material/publish:", key="publish_btn"):
            try:
                entry = publishing.publish(name, pub_name.strip(), which, replace)
            except run_control.JobError as exc:
                st.error(f"Cannot publish: {exc}")
            else:
                classes = f", {entry.num_classes} classes" if entry.num_classes else ""
                st.success(f"Published as **{entry.name}** — {entry.arch.upper()} {entry.image_size} px{classes}. "
                           "It is now in the Home gallery and the Explore panel.")
with right, st.container(border=True):
    st.markdown("**Delete** — removes the run folder: metrics, samples and checkpoints.")
    if info.active:
        st.caption(f"{info.title} is {info.state}: stop it on the Monitor page before deleting it.")
    else:
        sure = st.checkbox(f"Yes, delete {info.title} for good", key=f"del_sure_{name}")
        if st.button("Delete run", icon=":material/delete:", disabled=not sure, key="delete_btn"):
            try:
                run_control.delete(name)
            except (run_control.JobError, ValueError, OSError) as exc:
                st.error(f"Cannot delete: {exc}")
            else:
                st.toast(f"Deleted {info.title}")
                st.rerun()

published = [e for e in catalog.list_checkpoints() if e.kind == "published"]
if published:
    st.subheader("Published checkpoints")
    for e in published:
        a, b = st.columns([4, 1])
        note = e.meta.get("step")
        a.markdown(f"**{e.name}** · {e.arch.upper()} {e.image_size}px" + (f" · step {note:,}" if note else ""))
        if b.button("Unpublish", key=f"unpub_{e.name}"):
            try:
                publishing.unpublish(e.name)
            except run_control.JobError as exc:
                st.error(str(exc))
            else:
                st.rerun()
