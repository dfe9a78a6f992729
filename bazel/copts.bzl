"""Compiler options for flowd's own code: warnings are errors."""

FLOWD_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Werror=implicit-function-declaration",
    "-Wno-missing-field-initializers",
    "-Wshadow",
    "-Wformat=2",
    "-Wno-format-nonliteral",
]
