"""Runs: every training with its status and last metrics; the branch tree; runs compared (curves,
settings, judge figures, samples, CSV/PNG export); publish or delete."""

import streamlit as st

from ui import (access, catalog, charts, compare, compare_png, lineage, live, paths, publishing, run_control,
                run_focus, run_views, visibility)
from ui.display import ago, fmt, for_display
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

# -- branch tree ----------------------------------------------------------------------------
nodes = lineage.tree(runs)
if lineage.has_branches(nodes):
    st.subheader("Branches")
    st.code(lineage.tree_text(nodes), language=None)

# -- compare ------------------------------------------------------------------------------
st.subheader("Compare")
with_metrics = [r.name for r in runs if r.last]
picked = st.multiselect("Runs", with_metrics, default=with_metrics[:3], key="compare_runs",
                        format_func=lambda n: by_name[n].title)
if not picked:
    st.caption("Pick runs to overlay their curves.")
else:
    rows_of = {n: live.read_metrics(by_name[n].path) for n in picked}
    cfgs = {n: by_name[n].run.config_or_none() for n in picked}
    keys = compare.metric_keys(rows_of)
    c1, c2, c3 = st.columns([2, 2, 2])
    metric = c1.selectbox("Metric", keys, key="compare_metric", format_func=lambda k: charts.LABELS.get(k, k))
    axis = c2.radio("x axis", list(compare.AXES), key="compare_axis", horizontal=True, format_func=compare.AXES.get)
    smoothing = c3.slider("Smoothing (EMA weight)", 0.0, 0.98, 0.6, 0.02, key="compare_smoothing",
                          help="The line is an exponential moving average; the band spans the raw values' "
                               "min and max over the points each smoothed point summarises.")
    titles = {n: by_name[n].title for n in picked}
    data = {titles[n]: (rows_of[n], cfgs[n].train.batch_size if cfgs[n] else 1) for n in picked}
    all_series = compare.compare(data, metric, axis, smoothing)
    st.plotly_chart(charts.compare_figure(all_series, metric, compare.AXES[axis]), key="overlay")
    e1, e2 = st.columns(2)
    e1.download_button("Export CSV", data=compare.to_csv(all_series, metric, axis), file_name=f"compare-{metric}.csv",
                       mime="text/csv", icon=":material/table:", key="export_csv", on_click="ignore")
    e2.download_button("Export PNG", file_name=f"compare-{metric}.png", mime="image/png", key="export_png",
                       icon=":material/image:", on_click="ignore",
                       data=lambda: compare_png.render_png(all_series, f"{charts.LABELS.get(metric, metric)} across runs",
                                                           compare.AXES[axis], charts.LABELS.get(metric, metric)))

    st.markdown("**Settings** (the fields that differ are highlighted)")
    table, differ = compare.settings_table({titles[n]: cfgs[n] for n in picked})
    only = st.toggle("Only the settings that differ", value=True, key="compare_only_diff")
    shown = [r for r in table if r["setting"] in differ] if only else table
    if shown:
        import pandas as pd

        frame = pd.DataFrame(shown).set_index("setting")
        st.dataframe(frame.style.apply(lambda row: ["background-color: #fff3b0" if row.name in differ else ""
                                                    for _ in row], axis=1), key="settings_table")
    else:
        st.caption("These runs have the same settings.")

    st.markdown("**The judge's figures**")
    judged = {titles[n]: compare.judge_figures(rows_of[n], by_name[n].best) for n in picked}
    if any(v.get("judged at step") is not None for v in judged.values()):
        st.dataframe([{"run": t, **{k: fmt(v) if isinstance(v, float) else v for k, v in f.items()}}
                      for t, f in judged.items()], hide_index=True, key="judge_table")
    else:
        st.caption("None of these runs was judged while training (Train page: judge evaluation every N steps).")

    st.markdown("**Samples side by side**")
    s1, s2 = st.columns(2)
    a = s1.selectbox("Left", picked, key="side_a", format_func=titles.get)
    b = s2.selectbox("Right", picked, index=min(1, len(picked) - 1), key="side_b", format_func=titles.get)
    grids_a, grids_b = dict(by_name[a].run.samples()), dict(by_name[b].run.samples())
    both = compare.common_steps(list(grids_a), list(grids_b))
    if not both:
        st.caption("These two runs have no sample grid at a common step.")
    else:
        at = st.select_slider("Step", both, value=both[-1], key="side_step") if len(both) > 1 else both[0]
        for col, n, grids in ((s1, a, grids_a), (s2, b, grids_b)):
            col.image(for_display(live.load_image(grids[at]), min_width=360, max_factor=4),
                      caption=f"{titles[n]} · step {at:,}")

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
