"""The command line's option types and help layout: each type turns a bad value into a
one-line usage error (exit status 2)."""
import argparse
import math


def _option_type(convert, noun, accept, requirement):
    """An argparse type: `convert` the text (else "'x' is not <noun>"), then check it with
    `accept` (else "must be <requirement>"); argparse turns either into exit status 2."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
        return value
    return parse


_positive_int = _option_type(int, "an integer", lambda v: v >= 1, "a positive integer")
_non_negative_int = _option_type(int, "an integer", lambda v: v >= 0, "a non-negative integer")
_positive_float = _option_type(float, "a number", lambda v: math.isfinite(v) and v > 0,
                               "a positive finite number")
# (NaN fails the comparison too)
_fraction = _option_type(float, "a number", lambda v: 0.0 <= v < 1.0, "in [0, 1)")


def _sizes(text):
    """'64,32' -> (64, 32); '' -> () (no hidden layer: a linear model)."""
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of positive "
                                         "integers (or '' for none)")
    return tuple(int(p) for p in parts)


def _delimiter(text):
    """--delimiter: "auto" (None: read_csv sniffs , ; and tab), "tab", or one character."""
    if text == "auto":
        return None
    if text in ("tab", "\\t"):
        return "\t"
    if len(text) != 1 or text in "\r\n\"":
        raise argparse.ArgumentTypeError(f"{text!r} is not one character, 'tab' or 'auto'")
    return text


def _names(text):
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no column")
    return names


class _Parser(argparse.ArgumentParser):
    """argparse with every usage error on one stderr line, as fastlin's own errors are: argparse
    prints the usage line first, and a script reading stderr line by line took the usage for
    the error. The line says where the usage is shown."""

    def error(self, message):
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: ...)" for every option that has one (not for required ones)."""

    def _get_help_string(self, action):
        if action.required or action.default is None or action.default == []:
            return action.help
        return super()._get_help_string(action)


def _subparser(sub, name, usage, help):
    return sub.add_parser(name, prog=f"fastlin {name}", usage=f"%(prog)s {usage}", help=help,
                          description=help[:1].upper() + help[1:], formatter_class=_Formatter)


def _delimiter_option(parser):
    parser.add_argument("--delimiter", type=_delimiter, default="auto", metavar="CHAR",
                        help="field separator of DATA: one character, 'tab', or 'auto' (the "
                             "one of , ; tab that splits the first lines evenly)")
