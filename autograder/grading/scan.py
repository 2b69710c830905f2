"""Answer cells that reach for what an answer has no business touching, found by reading them.

Grades do not depend on this scan (they are decided outside the kernel); it tells the
instructor who *tried*. An answer cell is flagged for review, with the line, when it:

- imports or uses what reaches the interpreter's or the kernel's internals: frames
  (``inspect``, ``sys._getframe``, ``f_back``...), ``gc``, ``ctypes``, trace, profile and audit
  hooks, ``builtins``, ``importlib`` and ``__import__``, IPython and the kernel, threads and
  processes, signals, ``eval``/``exec``/``compile``, ``globals()``/``vars()``, dunder attributes;
- calls the library's own answer to one of the assignment's exercises (its ``routes``), or the
  grading code itself (``backproplab.exercises``, ``grading``, ``symbolic``, ...), directly, through
  an alias, or by a computed attribute name;
- changes a module it did not write (``np.allclose = ...``, ``setattr(sp, ...)``), rebinds a name
  the setup cell imported from the library (``check = ...``), or subclasses SymPy, numpy or
  built-in types (objects that could change how they compare or print).
"""

from __future__ import annotations

import ast
import builtins

from .records import Flag

__all__ = ["ALWAYS_FORBIDDEN", "scan"]

ALWAYS_FORBIDDEN = ("backproplab.symbolic", "backproplab.exercises", "backproplab.grading", "backproplab._guard",
                    "backproplab.wire", "backproplab.diagnose")

MODULES = {
    "inspect": "reads the interpreter's frames", "gc": "reaches every object through the garbage collector",
    "ctypes": "patches memory directly", "_ctypes": "patches memory directly", "cffi": "patches memory directly",
    "builtins": "changes the built-in functions", "__builtin__": "changes the built-in functions",
    "importlib": "imports by computed names", "IPython": "reaches into the notebook's kernel",
    "ipykernel": "reaches into the notebook's kernel", "jupyter_client": "reaches into the notebook's kernel",
    "zmq": "talks to the kernel's sockets", "traitlets": "reaches into the notebook's kernel",
    "threading": "starts threads", "_thread": "starts threads", "multiprocessing": "starts processes",
    "concurrent": "starts threads or processes", "subprocess": "starts processes", "signal": "installs signal handlers",
    "atexit": "installs exit handlers", "faulthandler": "installs crash handlers", "code": "compiles code",
    "codeop": "compiles code", "dis": "reads bytecode", "marshal": "loads code objects", "pickle": "loads objects",
    "types": "builds functions and code objects", "socket": "opens network connections",
    "tracemalloc": "traces the interpreter", "sysconfig": "reads the interpreter's configuration",
    "pdb": "runs a debugger", "bdb": "runs a debugger", "trace": "traces the interpreter",
}
NAMES = {
    "__import__": "imports by computed names", "eval": "runs code from text", "exec": "runs code from text",
    "compile": "compiles code", "globals": "reaches the notebook's namespace", "locals": "reaches frames",
    "vars": "reaches objects' namespaces", "breakpoint": "runs a debugger", "get_ipython": "reaches into the kernel",
    "__builtins__": "changes the built-in functions", "__loader__": "reaches the import system",
    "__spec__": "reaches the import system",
}
SYS = {"_getframe": "reads the interpreter's frames", "settrace": "installs a trace hook",
       "setprofile": "installs a profile hook", "addaudithook": "installs an audit hook",
       "modules": "reaches loaded modules", "meta_path": "changes the import system",
       "path_hooks": "changes the import system", "excepthook": "changes error reporting",
       "displayhook": "changes what the notebook displays", "stdout": "replaces the output stream",
       "stderr": "replaces the error stream", "exit": "stops the kernel", "_current_frames": "reads frames",
       "monitoring": "installs a monitoring hook", "setrecursionlimit": None, "getrecursionlimit": None}
OS = {"_exit", "kill", "killpg", "system", "fork", "forkpty", "popen", "execv", "execve", "execl", "execlp",
      "execvp", "execvpe", "spawnv", "spawnl", "posix_spawn", "abort", "setuid", "chroot"}
ALLOWED_MODULES = {"IPython.display"}   # showing things is what notebooks are for
FRAME_ATTRS = {"f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
               "gi_frame", "cr_frame", "ag_frame", "co_code", "co_consts", "gi_code", "cr_code"}
DUNDER_OK = {"__init__", "__name__", "__doc__", "__len__", "__qualname__", "__module__"}
PROTECTED_BASES = ("sympy", "numpy", "builtins", "backproplab")
BUILTIN_TYPES = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)}


def _aliases(tree: ast.AST) -> dict[str, str]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = aliases.get(node.id)
    if root is None and node.id not in ("builtins", "sys", "os"):
        return None
    return ".".join([root or node.id, *reversed(parts)])


def _within(name: str, prefixes) -> str | None:
    """The forbidden route ``name`` is (or lies under), else None."""
    return next((p for p in prefixes if name == p or name.startswith(p + ".")), None)


def _holds(name: str, prefixes) -> bool:
    """Does module ``name`` hold a forbidden route?"""
    return any(p.startswith(name + ".") for p in prefixes)


def _setup_imports(setup_sources: list[str]) -> tuple[dict[str, str], set[str]]:
    """Aliases the setup cells import, and the names they import from the library."""
    aliases: dict[str, str] = {}
    for src in setup_sources:
        try:
            aliases.update(_aliases(ast.parse(src)))
        except SyntaxError:
            continue
    library = {n for n, target in aliases.items() if target.startswith("backproplab")}
    return aliases, library


def _protected(routes) -> list[str]:
    """The protected library functions the routes stand for, as the no-delegation guard reads them
    (a module prefix means its protected functions only, not its helpers)."""
    from backproplab import _guard

    out: list[str] = []
    for r in routes:
        try:
            out += sorted(_guard.resolve(r))
        except ValueError:
            out.append(r)
    return out


def scan(answers: dict[str, str], routes: dict[str, list[str]] | list[str], setup_sources: list[str] = ()) -> list[Flag]:
    """Flags for every answer cell (grade_id -> code) of one hand-in; see the module docstring.

    ``routes``: the library routes that answer each exercise (grade_id -> dotted names or module
    prefixes), or one list for every cell; ``setup_sources``: the release's locked setup cells
    (their imports are the aliases an answer may use).
    """
    setup_aliases, library_names = _setup_imports(list(setup_sources))
    flags: list[Flag] = []
    for gid, src in answers.items():
        mine = routes.get(gid, sorted({r for rs in routes.values() for r in rs})) if isinstance(routes, dict) else routes
        forbidden = tuple(dict.fromkeys([*_protected(mine), *ALWAYS_FORBIDDEN]))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue  # it will fail to run; nothing to read
        lines = src.splitlines()
        own = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        own |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        aliases = {k: v for k, v in setup_aliases.items() if k not in own}
        aliases.update(_aliases(tree))
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                child._parent = parent  # type: ignore[attr-defined]
        seen: set[tuple[int, str]] = set()

        def flag(node: ast.AST, why: str, _gid=gid, _lines=lines, _seen=seen) -> None:
            line = getattr(node, "lineno", None)
            if (line or 0, why) in _seen:
                return
            _seen.add((line or 0, why))
            code = _lines[line - 1].strip()[:160] if line and line <= len(_lines) else ""
            flags.append(Flag("tampering", _gid, why, line, code))

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    if top in MODULES and a.name not in ALLOWED_MODULES:
                        flag(node, f"imports {a.name}, which {MODULES[top]}")
                    if _within(a.name, ALWAYS_FORBIDDEN):
                        flag(node, f"imports {a.name}: the grading code")
            elif isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")[0]
                if top in MODULES and node.module not in ALLOWED_MODULES:
                    flag(node, f"imports from {node.module}, which {MODULES[top]}")
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if _within(full, forbidden):
                        flag(node, f"imports {full}, the library's own answer (or grading code)")
                    if node.module in ("sys", "os") and (SYS.get(a.name) or a.name in OS):
                        flag(node, f"imports {full}")
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in NAMES:
                    flag(node, f"uses {node.id}, which {NAMES[node.id]}")
                elif node.id in aliases and _within(aliases[node.id], forbidden):
                    flag(node, f"uses {aliases[node.id]}, the library's own answer (or grading code)")
            elif isinstance(node, ast.Attribute):
                if node.attr.startswith("__") and node.attr.endswith("__") and node.attr not in DUNDER_OK:
                    flag(node, f"uses the attribute {node.attr}")
                elif node.attr in FRAME_ATTRS:
                    flag(node, f"uses {node.attr}, which reads the interpreter's frames")
                name = _dotted(node, aliases)
                if name:
                    if name.startswith("sys.") and SYS.get(name.split(".")[1]):
                        flag(node, f"uses {name}, which {SYS[name.split('.')[1]]}")
                    elif name.startswith("os.") and name.split(".")[1] in OS:
                        flag(node, f"uses {name}")
                    elif _within(name, forbidden) and not isinstance(getattr(node, "_parent", None), ast.Attribute):
                        flag(node, f"uses {name}, the library's own answer (or grading code)")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                fn = node.func.id
                if fn in ("setattr", "delattr") and node.args:
                    target = _dotted(node.args[0], aliases) if isinstance(node.args[0], (ast.Name, ast.Attribute)) \
                        else None
                    if target:
                        flag(node, f"{fn} changes {target}, a module it did not write")
                if fn == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
                    target = _dotted(node.args[0], aliases) if isinstance(node.args[0], (ast.Name, ast.Attribute)) \
                        else None
                    if target and (_within(target, forbidden) or _holds(target, forbidden)):
                        flag(node, f"reaches into {target} by a computed name")
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    for el in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                        base = el.value if isinstance(el, ast.Subscript) else el
                        if isinstance(base, ast.Attribute):
                            name = _dotted(base, aliases)
                            if name:
                                flag(node, f"changes {name}, which belongs to a module it did not write")
            elif isinstance(node, ast.ClassDef):
                for b in node.bases:
                    name = _dotted(b, aliases) if isinstance(b, (ast.Name, ast.Attribute)) else None
                    if name is None and isinstance(b, ast.Name) and b.id in BUILTIN_TYPES and b.id != "object":
                        name = f"builtins.{b.id}"
                    if name and name.split(".")[0] in PROTECTED_BASES and name != "builtins.object":
                        flag(node, f"defines {node.name}, a subclass of {name}: objects that could change "
                                   "how they compare or print")
        for stmt in tree.body:
            bound = []
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [stmt.name]
            elif isinstance(stmt, ast.Assign):
                bound = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                bound = [a.asname or a.name.split(".")[0] for a in stmt.names]
            for n in bound:
                if n in library_names:
                    flag(stmt, f"rebinds {n}, which the setup cell imported from the library for the tests")
    return flags
