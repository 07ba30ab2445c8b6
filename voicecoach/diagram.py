"""Draw the coach's phase graph from the same transition table the coach runs on."""

from __future__ import annotations

from pathlib import Path

from .coach import TRANSITIONS
from .errors import VoiceCoachError
from .protocol import Phase


def to_dot() -> str:
    """The graph in Graphviz DOT, built by transitions' GraphMachine (needs the graphviz module)."""
    source: str = _graph().source  # type: ignore[attr-defined]
    return source


def _graph() -> object:
    try:
        from transitions.extensions import GraphMachine
    except ImportError as exc:  # pragma: no cover
        raise VoiceCoachError(f"diagram support missing: {exc}") from exc

    class _Model:
        pass

    model = _Model()
    try:
        GraphMachine(
            model=model, states=Phase, transitions=TRANSITIONS, initial=Phase.SCREEN,
            auto_transitions=False, show_conditions=True, graph_engine="graphviz",
            title="voicecoach session",
        )
        return model.get_graph()  # type: ignore[attr-defined]
    except (ImportError, ModuleNotFoundError) as exc:
        raise VoiceCoachError(
            "drawing needs the Python 'graphviz' package: pip install 'voicecoach[diagram]'"
        ) from exc


def draw(out: str | Path) -> Path:
    """Write the diagram to ``out`` (.svg, .png or .dot); return the path written."""
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot", "gv"):
        raise VoiceCoachError(f"unsupported diagram format '.{fmt}': use .svg, .png or .dot")
    graph = _graph()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoiceCoachError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if fmt in ("dot", "gv"):
        path.write_text(graph.source, encoding="utf-8")  # type: ignore[attr-defined]
        return path
    try:
        data = graph.pipe(format=fmt)  # type: ignore[attr-defined]
    except Exception as exc:  # graphviz.ExecutableNotFound and friends
        raise VoiceCoachError(
            f"cannot render {fmt}: {exc}. Install Graphviz (Debian: apt install graphviz) or "
            "write a .dot file"
        ) from exc
    path.write_bytes(data)
    return path
