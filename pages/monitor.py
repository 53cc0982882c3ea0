"""Monitor: one run, live. Charts, progress, sample grids, health, and Stop / Resume."""

import time
from typing import Any

import streamlit as st

from ui import access, cached, charts, health, live, run_control, run_focus, run_views, visibility
from ui.display import STATE_BADGES, ago, fmt, for_display
from ui.nav import through_studio

through_studio()

REFRESH_S = 1.5

st.title("Monitor")
run_control.tick()
runs = visibility.visible_runs(run_views.list_runs())
if not runs:
    st.info("No training runs yet.")
    st.page_link("pages/train.py", label="Start one on the Train page", icon=":material/model_training:")
    st.stop()

names = [r.name for r in runs]
by_name = {r.name: r for r in runs}
url_run = st.query_params.get(run_focus.RUN_PARAM)  # a reload keeps the watched run (ui.run_focus)
wanted = run_focus.watched(names, st.session_state.get("monitor_run"), url_run if isinstance(url_run, str) else None,
                           [r.name for r in runs if r.active])
if st.session_state.get("monitor_pick") not in names:
    st.session_state["monitor_pick"] = wanted  # a first visit, or a new launch from the Train page
# labels must not change while the page refreshes (state and step live in the panel below)
name = st.selectbox("Run", names, key="monitor_pick", format_func=lambda n: f"{by_name[n].title} · {n}")
st.session_state["monitor_run"] = name
if url_run != name:
    st.query_params[run_focus.RUN_PARAM] = name
is_live = by_name[name].active
st.session_state["monitor_live"] = is_live


@st.fragment(run_every=None if is_live else 3.0)
def follow_notice() -> None:
    """A run started later from another tab (or a resume): offer to follow it; never switch by itself."""
    newer = run_focus.follow_offer(name, run_focus.starts(run_views.list_runs()))
    if newer:
        n1, n2 = st.columns([4, 1], vertical_alignment="center")
        n1.info(f"A new run started: **{run_views.run_info(newer).title}** · `{newer}`.", icon=":material/fiber_new:")
        if n2.button("Follow it", key="follow_run", icon=":material/arrow_forward:"):
            st.session_state["monitor_run"] = newer
            st.session_state.pop("monitor_pick", None)
            st.query_params[run_focus.RUN_PARAM] = newer
            st.rerun(scope="app")


follow_notice()
st.page_link("pages/runs.py", label="Publish or manage this run", icon=":material/history:",
             query_params={run_focus.RUN_PARAM: name})


def controls(info: run_views.RunInfo) -> None:
    """Stop / Force stop while active; Resume with a new step target when stopped."""
    if access.read_only("stop or resume trainings"):
        return
    c = st.columns([1, 1, 2, 1])
    if info.active:
        if c[0].button("Stop", type="primary", icon=":material/stop:", key="stop_btn",
                       help="Finishes the current step, saves a checkpoint, then stops. Resume continues exactly."):
            run_control.stop(info.name)
            st.toast("Stop requested: saving a checkpoint…")
            st.rerun()
        with c[1].popover("Force stop", icon=":material/dangerous:"):
            st.write("Ends the process at once, without saving the current step. Resume then continues from "
                     "the last checkpoint.")
            if st.button("Kill the training process", key="force_btn"):
                run_control.force_stop(info.name)
                st.rerun(scope="app")
    elif info.can_resume:
        target = c[2].number_input("Train up to step", min_value=info.step + 1, step=500, key=f"resume_to_{info.name}",
                                   value=max(info.step + 1, info.total_steps if info.total_steps > info.step
                                             else info.step * 2))
        if c[0].button("Resume", type="primary", icon=":material/play_arrow:", key="resume_btn"):
            dev = cached.device_summary()
            try:
                run_control.resume(info.name, int(target), threads=run_control.default_threads(dev.get("cpu_cores")),
                            cuda=bool(dev.get("cuda")))
            except run_control.JobError as exc:
                st.error(str(exc))
            else:
                st.session_state["monitor_live"] = True
                st.rerun(scope="app")


def header(info: run_views.RunInfo) -> None:
    """Title, state badge, one slot for the state message and one for the progress bar (fixed
    slots keep every element in place while the page refreshes)."""
    label, color = STATE_BADGES.get(info.state, (info.state, "gray"))
    h1, h2 = st.columns([4, 1])
    h1.subheader(info.title)
    h1.caption(f"{info.dataset} · {info.model.upper()} {info.image_size}px · {info.device or 'device pending'} · "
               f"started {ago(info.created)} · folder `{info.name}`")
    h2.badge(label, color=color)
    with st.container():
        if info.state == "failed":
            st.error(f"Training failed: {visibility.shown(info.error)}")
            with st.expander("End of the training log", expanded=False):
                st.code(visibility.shown(info.run.log_tail(30)) or "(empty)", language=None)
        elif info.state == "starting":
            note = info.note or "loading the dataset"
            st.info(f"Starting — {note}…")
        elif info.state == "stopping":
            st.info("Stopping: finishing the current step and saving a checkpoint…")
        elif info.state == "stopped":
            st.info(f"Stopped at step {info.step:,}" + (f" ({info.note})" if info.note else "") +
                    (". Resume continues exactly where it left off." if info.has_checkpoint else "."))
        elif info.state == "finished":
            status = info.run.read_status()  # holds the guard's end-of-run verdict when the run had the guard
            how = f" ({info.note})" if info.note else ""  # e.g. its time budget ended it
            if status.get("verdict_good") is False:
                st.warning(f"Finished: {info.step:,} steps{how}, but the guard's last check failed: "
                           f"{visibility.shown(str(status.get('verdict', '')))}")
            else:
                st.success(f"Finished: {info.step:,} steps{how}. Publish it on the Runs page to use it in the "
                           "gallery and the Explore panel, or resume to train longer.")
    cfg = info.run.config_or_none()  # a time budget (train.minutes) may end the run before its steps
    prog = live.progress_with_budget(info.step, info.total_steps, info.eta_s, cfg.train.minutes if cfg else 0.0,
                                     info.run.read_status().get("loop_started") if info.state == "running" else None,
                                     time.time())
    eta = (f" · ETA {live.format_eta(prog.eta_s)}" + (" (time limit)" if prog.by_budget else "")
           if info.state == "running" and prog.eta_s is not None else "")
    st.progress(prog.fraction, text=f"step {info.step:,} / {info.total_steps:,}{eta}" if info.total_steps
                else f"step {info.step:,}{eta}")


def numbers(rows: list) -> None:
    mem_key = "gpu_mem_mb" if any("gpu_mem_mb" in r for r in rows[-5:]) else "rss_mb"
    cols = st.columns(6)
    for col, (label, key) in zip(cols, [("loss D", "loss_d"), ("loss G", "loss_g"), ("D(x)", "d_real"),
                                        ("D(G(z))", "d_fake"), ("images / s", "img_per_s"),
                                        ("GPU memory MB" if mem_key == "gpu_mem_mb" else "memory (RSS) MB", mem_key)]):
        col.metric(label, fmt(live.latest(rows, key)))


def chart_grid(rows: list, loss: str, conditional: bool, events: list | None = None) -> None:
    figs = [("loss", charts.loss_figure(rows)), ("dout", charts.d_output_figure(rows, loss))]
    if conditional:
        figs.append(("acc", charts.accuracy_figure(rows)))
    figs += [("speed", charts.speed_figure(rows)), ("mem", charts.memory_figure(rows))]
    if any("diversity" in r for r in rows):
        figs.append(("health", charts.health_figure(rows)))
    if any("eval_fd" in r for r in rows):
        figs.append(("quality", charts.quality_figure(rows)))
    if any("ada_p" in r for r in rows):
        figs.append(("ada", charts.ada_figure(rows)))
    if any("lr_scale" in r for r in rows):
        figs.append(("lr", charts.lr_figure(rows)))
    for i in range(0, len(figs), 2):
        cols = st.columns(2)
        for col, (key, fig) in zip(cols, figs[i:i + 2]):
            charts.add_event_markers(fig, events or [])
            col.plotly_chart(fig, key=f"chart_{key}", config={"displayModeBar": False})


def samples(info: run_views.RunInfo, cfg: Any) -> None:
    grids = info.run.samples()
    left, right = st.columns(2)
    with left:
        if not grids:
            st.markdown("**Generated** (fixed noise)")
            st.caption("The first sample grid appears after the first sample step.")
        else:
            steps = [s for s, _ in grids]
            skey, edge = f"scrub_{info.name}", f"scrub_edge_{info.name}"
            # A value slider (not an index-based select_slider: its options grow while training, so
            # an index sent by the browser could name another grid). At the right end it follows
            # the newest grid; moved back, it stays where the user put it.
            cur = st.session_state.get(skey)
            if not isinstance(cur, int) or not steps[0] <= cur <= steps[-1] or cur == st.session_state.get(edge):
                st.session_state[skey] = steps[-1]
            st.session_state[edge] = steps[-1]
            chosen = steps[-1]
            if len(steps) > 1:
                picked = st.slider("Scrub through the grids (step)", steps[0], steps[-1], key=skey,
                                   help="Drag back to see earlier grids; at the right end it follows the newest.")
                chosen = max(s for s in steps if s <= picked)  # the grid at or before the picked step
            st.markdown(f"**Generated** · step {chosen:,} (same noise every time)")
            st.image(for_display(live.load_image(dict(grids)[chosen]), min_width=480, max_factor=4))
            st.download_button("Export GIF", data=lambda: live.gif_of_grids([p for _, p in grids]),
                               file_name=f"{info.name}-progress.gif", mime="image/gif", on_click="ignore",
                               icon=":material/animated_images:", help=f"All {len(grids)} grids as an animation")
    with right:
        st.markdown("**Real** (training images as the model sees them)")
        if cfg is None or not visibility.may_show_dataset(cfg.data.source):
            st.caption("the run's config is not written yet" if cfg is None else "uploaded images are the owner's")
        else:
            real = cached.real_grid(cfg.data.source, cfg.model.image_size, cfg.model.channels)
            if real is None:
                st.caption("the training images cannot be read any more")
            else:
                st.image(for_display(real, min_width=480, max_factor=4))


def health_panel(rows: list, info: run_views.RunInfo, loss: str, conditional: bool) -> None:
    st.markdown("**Health**")
    show = {"error": st.error, "warning": st.warning, "info": st.info, "ok": st.success}
    for f in health.assess(rows, info.state, info.error, loss, conditional):
        show[f.level](f"**{f.title}.** {f.detail}")


def event_list(events: list) -> None:
    """The guard's, the schedule's and the user's actions on this run, newest first (the charts mark each)."""
    if not events:
        return
    with st.expander(f"Events ({len(events)}): rollbacks, remedies, branches and the learning-rate decay",
                     expanded=False):
        for ev in reversed(events):
            line = f"**step {int(ev.get('step', 0)):,}** · {ev.get('text') or ev.get('kind')}"
            if ev.get("rule"):
                line += f"  \nrule: {ev['rule']}"
            if ev.get("evidence"):
                line += "  \nevidence: " + ", ".join(f"{k} = {v}" for k, v in ev["evidence"].items())
            st.markdown(line)


BRANCH_FIELDS = (("train.lr_g", "G learning rate"), ("train.lr_d", "D learning rate"),
                 ("train.r1_gamma", "R1 gamma (0 = off)"), ("train.label_smoothing", "label smoothing"))


def checkpoint_actions(info: run_views.RunInfo, cfg: Any) -> None:
    """Roll back to any checkpoint, or branch a new run from it with edited settings."""
    choices = run_views.checkpoints(info.name)
    if not choices:
        return
    st.markdown("**Checkpoints** — go back to one, or try other settings from one in a new run")
    steps = dict(choices)
    which = st.selectbox("Checkpoint", list(steps), key=f"ckpt_pick_{info.name}",
                         format_func=lambda w: f"step {steps[w]:,} · {w}")
    left, right = st.columns(2)
    with left:
        if st.button("Roll back to here", icon=":material/undo:", key="rollback_btn", disabled=which == "latest",
                     help="This checkpoint becomes the latest; the metrics after it are removed. Resume then "
                          "continues from it."):
            try:
                step = run_control.roll_back(info.name, which)
            except run_control.JobError as exc:
                st.error(str(exc))
            else:
                st.toast(f"Rolled back to step {step:,}")
                st.rerun(scope="app")
    with right.popover("Branch a new run from here", icon=":material/call_split:"):
        with st.form(f"branch_form_{info.name}"):
            title = st.text_input("Name of the new run", value=f"{info.title} branch {steps[which]}")
            target = st.number_input("Train up to step", min_value=steps[which] + 1,
                                     value=max(steps[which] + 1, cfg.train.steps), step=500)
            values = {}
            for key, label in BRANCH_FIELDS:
                values[key] = st.number_input(label, value=float(cfg.get(key)), format="%g", key=f"br_{key}")
            ops = st.multiselect("DiffAugment", ["translation", "cutout", "color"], default=cfg.train.diffaug_ops)
            go = st.form_submit_button("Branch and start", type="primary")
        if go:
            changes = {k: float(v) for k, v in values.items() if float(v) != float(cfg.get(k))}
            if ",".join(ops) != cfg.train.diffaug:
                changes["train.diffaug"] = ",".join(ops)
            changes["train.steps"] = int(target)
            dev = cached.device_summary()
            try:
                child = run_control.branch(info.name, which, title, changes,
                                           threads=run_control.default_threads(dev.get("cpu_cores")),
                                           cuda=bool(dev.get("cuda")))
            except run_control.JobError as exc:
                st.error(str(exc))
            else:
                st.session_state["monitor_run"] = child.name
                st.session_state.pop("monitor_pick", None)
                st.rerun(scope="app")


@st.fragment(run_every=REFRESH_S if is_live else None)
def panel() -> None:
    info = run_views.run_info(name)
    if info.state in ("running", "stopping") and access.can_write():
        run_control.escalate(name)  # a stop request past its grace period becomes SIGTERM
    if info.active != st.session_state.get("monitor_live"):
        st.session_state["monitor_live"] = info.active
        st.rerun(scope="app")  # start or stop the automatic refresh
    header(info)
    controls(info)
    cfg = info.run.config_or_none()
    loss = cfg.train.loss if cfg else "bce"
    conditional = bool(cfg and cfg.model.conditional)
    rows = live.read_metrics(info.path)
    with st.container():
        if not rows:
            st.caption("Waiting for the first metrics…")
        else:
            numbers(rows)
            events = info.run.read_events()
            chart_grid(rows, loss, conditional, events)
            if cfg is not None and any("eval_fd" in r for r in rows):  # which judge, for an upload too
                st.caption(live.quality_caption(cfg.data.source, cfg.data.fingerprint, rows))
            event_list(events)
            if info.best:
                b = info.best
                st.caption(f"Best so far by the judge: FD {fmt(b.get('eval_fd'))} at step {int(b.get('step', 0)):,}"
                           + (f", class agreement {b['eval_class_consistency']:.1%}"
                              if b.get("eval_class_consistency") is not None else "")
                           + ". That checkpoint is kept as `best`, and Publish on the Runs page takes it.")
    if not info.active and cfg is not None and info.has_checkpoint:
        checkpoint_actions(info, cfg)
    st.divider()
    with st.container():
        samples(info, cfg)
    st.divider()
    with st.container():
        health_panel(rows, info, loss, conditional)
    with st.expander("Training log"):
        st.code(visibility.shown(info.run.log_tail(40)) or "(empty)", language=None)


panel()
