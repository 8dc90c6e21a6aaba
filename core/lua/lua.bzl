"""embed_lua: Lua scripts as C++ string constants, generated at build time."""

def embed_lua(name, out, scripts, prelude = None):
    """Writes `out`, defining `inline constexpr char <Name>[]` per script.

    Args:
      name: the genrule's name.
      out: the generated file, to #include.
      scripts: a dict from C++ constant name to .lua file.
      prelude: a .lua file, or a list of them, prepended in order to every script
        (shared helpers), or None.
    """
    if prelude == None:
        preludes = []
    elif type(prelude) == "string":
        preludes = [prelude]
    else:
        preludes = list(prelude)
    srcs = list(scripts.values()) + preludes
    commands = []
    for constant, path in scripts.items():
        parts = ["$(location %s)" % p for p in preludes]
        parts.append("$(location %s)" % path)
        commands.append(
            "printf 'inline constexpr char %s[] = R\"lua(' >> $@ && cat %s >> $@ && printf ')lua\";\\n' >> $@" %
            (constant, " ".join(parts)),
        )
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [out],
        cmd = "rm -f $@ && " + " && ".join(commands),
    )
