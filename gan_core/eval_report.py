"""An evaluation's figures as text: the table `python -m gan_core.evaluate` prints (and model cards quote)."""

from __future__ import annotations

from typing import Any


def _judge_line(r: dict[str, Any]) -> str:
    """Which judge measured, with its held-out accuracy; the label-free embedding by its full name."""
    if r.get("judge_test_accuracy") is None:  # the label-free embedding; the note says why no judge measured
        note = str(r.get("judge_note") or "")
        head = f"{r['judge']}: "
        reason = note[len(head):] if note.startswith(head) else "no judge for this dataset"
        return f"dataset           {r['dataset']}\nmeasured with     {r['judge']} (no class figures: {reason})"
    held = f" on {r['judge_heldout_images']:,} held-out images" if r.get("judge_heldout_images") else ""
    line = f"dataset / judge   {r['dataset']} / {r['judge']} (judge test accuracy {r['judge_test_accuracy']:.4f}{held})"
    if r.get("judge_note"):
        line += f"\n                  {r['judge_note']}"
    return line


def format_table(r: dict[str, Any]) -> str:
    lines = [f"checkpoint        {r['checkpoint']}",
             _judge_line(r),
             f"samples           {r['n']} ({r['arch']}, {r['image_size']}px)",
             f"FD                {r['fd']:.3f}   real-vs-real baseline {r['fd_real_baseline']:.3f} "
             f"(x{r['fd_ratio']:.2f}; halves of {r['real_half_size']}); size-matched FD {r['fd_size_matched']:.3f}"]
    if r.get("kid") is not None:
        lines.append(f"KID               {r['kid']:.5f} ± {r['kid_std']:.5f}   real-vs-real {r['kid_real_baseline']:.5f}")
    lines.append(f"precision/recall  {r['precision']:.3f} / {r['recall']:.3f}  (k=3)")
    if r.get("class_consistency") is not None:
        per = r["class_consistency_per_class"]
        worst = min(per, key=per.get)
        lines.append(f"class consistency {r['class_consistency']:.4f} overall; worst class {worst}: {per[worst]:.4f}")
        if len(per) <= 10:
            lines.append("  per class       " + "  ".join(f"{k}:{v:.3f}" for k, v in per.items()))
    floor = r.get("fd_class_mix_floor")
    if floor is not None:
        lines.append(f"class-mix floor   {floor:.3f} (x{floor / max(r['fd_real_baseline'], 1e-12):.2f}): real images "
                     "in the samples' judged class mix; FD beyond it comes from the images themselves")
    hist = r.get("class_histogram")
    if hist and len(hist) <= 10:
        lines.append("judged classes    " + "  ".join(f"{k}:{v:.3f}" for k, v in hist.items()))
    elif hist:
        vals = sorted(hist.values())
        lines.append(f"judged classes    {sum(v > 0 for v in vals)}/{len(vals)} present; "
                     f"min {vals[0]:.3f}, max {vals[-1]:.3f}")
    m = r.get("memorisation")
    if m:
        lines.append(f"memorisation      nearest-training RMS distance: samples median {m['samples_nn_median']:.4f} "
                     f"vs {m.get('reference', 'held-out real')} {m['heldout_nn_median']:.4f} (ratio {m['ratio']:.2f}); "
                     f"near copies {m['near_copies']:.3%}")
    if r.get("note"):
        lines.append(f"note              {r['note']}")
    lines.append(f"time              {r['seconds']:.1f} s (render {r['render_seconds']:.1f} s)")
    return "\n".join(lines)
