"""Reading a scenario file as plain data while remembering where each value stood.

PyYAML's own loaders are not safe enough for a file people edit by hand: they keep the last of two
duplicate keys without a word, and they expand aliases without a bound. So the file is composed
into nodes (which is cheap even for an alias bomb, since an alias is a reference to one node) and
turned into plain Python data here, with a budget, a whitelist of tags, and a location for every
key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from forecast.errors import Problem, ScenarioError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 100

# The tags plain data needs; anything else (!!python/object, !!binary, !!set, custom tags)
# is refused.
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str": "construct_yaml_str",
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:null": "construct_yaml_null",
    "tag:yaml.org,2002:timestamp": "construct_yaml_timestamp",
}
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"

KeyPath = tuple[object, ...]


@dataclass(frozen=True)
class Location:
    line: int
    column: int
    quoted: bool = False


@dataclass
class Document:
    """Plain data from a YAML file with the location of every value and every mapping key."""

    file: str
    data: object
    values: dict[KeyPath, Location] = field(default_factory=dict)
    keys: dict[KeyPath, Location] = field(default_factory=dict)

    def where(self, path: KeyPath, *, key: bool = False) -> Location:
        """The location of `path`, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Location(1, 1))


def _problem(file: str, mark, message: str) -> ScenarioError:
    line = mark.line + 1 if mark is not None else 1
    column = mark.column + 1 if mark is not None else 1
    return ScenarioError([Problem(file, line, column, (), message)])


def _at(file: str, text: str, position: int, message: str) -> ScenarioError:
    """A problem at a character offset of the decoded text."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return ScenarioError([Problem(file, line, column, (), message)])


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _oversized(root):
    """The innermost value that expands to more than MAX_NODES values through aliases, if any.

    An alias is a reference to a node, so sizes are counted once per node: a "billion laughs"
    file is measured in microseconds instead of being expanded.
    """
    sizes: dict[int, int] = {}

    def size(node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = MAX_NODES + 1  # an alias to a node inside itself never ends
        total = 1
        for child in _children(node):
            total = min(total + size(child), MAX_NODES + 1)
        sizes[id(node)] = total
        return total

    if size(root) <= MAX_NODES:
        return None
    node, seen = root, {id(root)}
    while True:
        inner = next((c for c in _children(node) if sizes[id(c)] > MAX_NODES), None)
        if inner is None or id(inner) in seen:
            return node
        seen.add(id(inner))
        node = inner


def parse_document(raw: bytes, name: str) -> Document:
    """Compose YAML bytes into a Document; raises ScenarioError for any problem."""
    if len(raw) > MAX_BYTES:
        raise ScenarioError(
            [Problem(name, 1, 1, (), f"file is larger than {MAX_BYTES:,} bytes; is it a scenario?")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        bad = raw[error.start : error.start + 1].hex().upper()
        raise ScenarioError(
            [
                Problem(
                    name,
                    line,
                    column,
                    (),
                    f"the file is not UTF-8 (byte 0x{bad}); save it with UTF-8 encoding",
                )
            ]
        ) from None
    if "\x00" in text:
        raise _at(name, text, text.index("\x00"), "the file contains NUL bytes; is it a text file?")
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise _problem(
                name,
                loader.get_mark(),
                "lists or mappings are nested too deeply; a scenario needs only a few levels",
            ) from None
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as error:
        character = chr(error.character) if isinstance(error.character, int) else "?"
        raise _at(
            name,
            text,
            error.position,
            f"the file contains the control character U+{ord(character):04X}, which YAML does "
            "not allow; remove it",
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "cannot parse"
        context = error.context_mark
        if error.context and error.problem and context is not None:
            # Where the unclosed bracket or quote began is what the reader needs to find.
            what += f", {error.context} that starts at line {context.line + 1}, "
            what += f"column {context.column + 1}"
        # PyYAML reads past the last character as NUL.
        what = what.replace("'\\x00'", "the end of the file")
        if error.context == "while parsing a flow mapping" and "but got '['" in what:
            # A key path such as evidence[0].weight, written in a { } mapping.
            what += '; quote a key that has brackets in it, such as "evidence[0].weight"'
        raise _problem(name, mark, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as error:
        raise _problem(name, None, f"YAML syntax error: {error}") from None
    if root is None:
        raise ScenarioError(
            [
                Problem(
                    name,
                    1,
                    1,
                    (),
                    "the file is empty; a scenario needs at least version, title and outcomes "
                    "(`forecast new NAME` writes a template)",
                )
            ]
        )
    oversized = _oversized(root)
    if oversized is not None:
        raise _problem(
            name,
            oversized.start_mark,
            f"this value expands to more than {MAX_NODES:,} values (aliases repeated too "
            "often, or an alias inside its own anchor); write the values out",
        )
    document = Document(name, None)
    builder = _Builder(document)
    document.data = builder.build(root, ())
    if builder.problems:
        raise ScenarioError(builder.problems)
    return document


class _Builder:
    """Turns composed nodes into plain data, collecting problems instead of stopping at one."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []
        self.visited = 0
        self.too_deep = False
        self.constructor = SafeConstructor()

    def fail(self, node, path: KeyPath, message: str) -> None:
        mark = node.start_mark
        keys = tuple(str(part) for part in path)
        self.problems.append(
            Problem(self.document.file, mark.line + 1, mark.column + 1, keys, message)
        )

    def build(self, node, path: KeyPath):
        if len(path) > MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.fail(
                    node,
                    (),
                    f"lists or mappings are nested more than {MAX_DEPTH} levels deep; "
                    "a scenario needs only a few levels",
                )
            return None
        self.visited += 1
        if self.visited > MAX_NODES:
            if self.visited == MAX_NODES + 1:
                self.fail(
                    node,
                    (),
                    f"the document expands to more than {MAX_NODES:,} values "
                    "(aliases repeated too often?); write the values out",
                )
            return None
        mark = node.start_mark
        self.document.values.setdefault(
            path,
            Location(
                mark.line + 1,
                mark.column + 1,
                isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'),
            ),
        )
        if isinstance(node, yaml.ScalarNode):
            method = _SCALAR_TAGS.get(node.tag)
            if method is None:
                return self._refuse_tag(node, path)
            try:
                return getattr(self.constructor, method)(node)
            except (ConstructorError, ValueError) as error:
                self.fail(node, path, f"cannot read this value: {error}")
                return None
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                return self._refuse_tag(node, path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if node.tag != _MAP_TAG:
            return self._refuse_tag(node, path)
        return self._build_mapping(node, path)

    def _build_mapping(self, node, path: KeyPath) -> dict:
        result: dict = {}
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.fail(
                    key_node,
                    path,
                    "merge keys (<<) are not supported; write the keys out in full",
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            key = self.build(key_node, (*path, "<key>"))
            try:
                hash(key)
            except TypeError:
                continue
            if key in result or key in first_seen:
                line = first_seen[key].line + 1
                self.fail(
                    key_node,
                    (*path, str(key)),
                    f"duplicate key '{key}' (first given on line {line}); "
                    "YAML keeps only one of them, so merge the two or rename one",
                )
                continue
            first_seen[key] = key_node.start_mark
            mark = key_node.start_mark
            quoted = key_node.style in ("'", '"')
            self.document.keys[(*path, key)] = Location(mark.line + 1, mark.column + 1, quoted)
            result[key] = self.build(value_node, (*path, key))
        self.document.values.pop((*path, "<key>"), None)
        return result

    def _refuse_tag(self, node, path: KeyPath):
        self.fail(
            node,
            path,
            f"YAML tag '{node.tag}' is not allowed; scenario files hold plain data "
            "(text, numbers, lists, mappings), so remove the tag",
        )
        return None
