"""YAML for user files: safe types only, duplicate keys an error, aliases bounded.

PyYAML's safe loader already refuses to build arbitrary objects. It still accepts a
mapping that names a key twice (the second silently wins) and "billion laughs"
documents, whose few lines of aliases expand into billions of nodes when anything walks
the result. ``load_yaml`` refuses both, with the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from autoscaler.input_errors import InputError

# Aliases a document may use, and nodes it may expand to when walked: a config uses a
# handful of each; the limits only stop documents built to explode.
MAX_ALIASES = 100
MAX_NODES = 1_000_000


class YamlInputError(InputError):
    """A YAML document cannot be used; the message names the file and line."""


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_ALIASES} aliases (*name)", mark
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _count_nodes(root: yaml.Node | None) -> int:
    """Nodes the document expands to, counting an alias as often as it is used; stops
    counting past ``MAX_NODES``."""
    count, stack = 0, [root] if root is not None else []
    while stack and count <= MAX_NODES:
        node = stack.pop()
        count += 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return count


def compose_yaml(text: str, where: str) -> yaml.Node | None:
    """The node tree of ``text`` (for line numbers). Raises ``YamlInputError``."""
    return _compose(text, where)[0]


def _compose(text: str, where: str) -> tuple[yaml.Node | None, _Loader]:
    """The node tree and the loader that read it (disposed of: it can still construct
    the tree's data). Raises ``YamlInputError``."""
    loader = None
    try:
        loader = _Loader(text)  # its reader already refuses control characters
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise YamlInputError(_message(exc, where)) from None
    finally:
        if loader is not None:
            loader.dispose()
    if _count_nodes(root) > MAX_NODES:
        raise YamlInputError(f"{where}: expands to more than {MAX_NODES:,} nodes (alias bomb?)")
    return root, loader


def load_yaml(text: str, where: str) -> Any:
    """The data of one YAML document. Raises ``YamlInputError`` (with ``where:line``) on
    invalid YAML, a duplicate key, too many aliases or too large an expansion."""
    # Composed once: the expansion is bounded before anything is constructed from it
    # (pure-Python PyYAML: a 1,000-group config took seconds per pass).
    root, loader = _compose(text, where)
    if root is None:
        return None
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise YamlInputError(_message(exc, where)) from None


def _message(exc: yaml.YAMLError, where: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}{line}: invalid YAML: {problem}"
