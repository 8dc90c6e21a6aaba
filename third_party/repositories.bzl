"""distkit_dependencies(): every external repository distkit needs, offline.

A consuming workspace adds distkit itself (local_repository or an archive) and calls
this one macro. Every declaration is wrapped in maybe(), so a repository the consumer
already declared under the same name wins.

All libraries come from Debian packages (tools/scripts/install-deps.sh installs them); nothing
is downloaded. Bazel 4.2.3 (Debian's bazel-bootstrap) has no bzlmod and, offline,
needs three stand-ins: rules_cc (Debian's bazel-rules-cc is too new for 4.2.3),
rules_java (from bazel-rules-java) and remote_coverage_tools.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

_CC_RULES = [
    "cc_binary",
    "cc_import",
    "cc_library",
    "cc_proto_library",
    "cc_test",
    "cc_toolchain",
    "cc_toolchain_suite",
    "fdo_prefetch_hints",
    "fdo_profile",
    "objc_import",
    "objc_library",
]

def _rules_cc_shim_impl(repository_ctx):
    # @bazel_tools itself loads cc_toolchain and cc_toolchain_suite from
    # @rules_cc//cc:defs.bzl, so every native C++ rule is re-exported.
    repository_ctx.file("WORKSPACE", "workspace(name = \"rules_cc\")\n")
    repository_ctx.file("BUILD", "")
    repository_ctx.file("cc/BUILD", "")
    defs = ["# Re-exports Bazel's native C++ rules (offline stand-in for rules_cc).\n"]
    for rule in _CC_RULES:
        defs.append("def {r}(**attrs):\n    native.{r}(**attrs)\n".format(r = rule))
    repository_ctx.file("cc/defs.bzl", "\n".join(defs))

_rules_cc_shim = repository_rule(implementation = _rules_cc_shim_impl)

def _coverage_tools_stub_impl(repository_ctx):
    # `bazel test` resolves these labels even without coverage; `bazel coverage`
    # does not work with the stub (use gcov/lcov directly).
    repository_ctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    repository_ctx.file("BUILD", "\n".join([
        "package(default_visibility = [\"//visibility:public\"])",
        "filegroup(name = \"coverage_report_generator\")",
        "filegroup(name = \"lcov_merger\")",
        "",
    ]))

_coverage_tools_stub = repository_rule(implementation = _coverage_tools_stub_impl)

def distkit_dependencies():
    """Declares the toolchain stand-ins and the system libraries distkit builds with."""
    maybe(_rules_cc_shim, name = "rules_cc")
    maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )
    maybe(_coverage_tools_stub, name = "remote_coverage_tools")

    # Header directories of Debian packages. Pointing at the library's own
    # directory (not /usr/include) keeps globbing cheap.
    maybe(
        native.new_local_repository,
        name = "boost",
        path = "/usr/include/boost",
        build_file = "@distkit//third_party:boost.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "hiredis",
        path = "/usr/include/hiredis",
        build_file = "@distkit//third_party:hiredis.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "lua51",
        path = "/usr/include/lua5.1",
        build_file = "@distkit//third_party:lua51.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "rapidcheck",
        path = "/usr/include/rapidcheck",
        build_file = "@distkit//third_party:rapidcheck.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "gtest",
        path = "/usr/include/gtest",
        build_file = "@distkit//third_party:gtest.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "benchmark",
        path = "/usr/include/benchmark",
        build_file = "@distkit//third_party:benchmark.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "openssl",
        path = "/usr/include/openssl",
        build_file = "@distkit//third_party:openssl.BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "cli11",
        path = "/usr/include/CLI",
        build_file = "@distkit//third_party:cli11.BUILD",
    )
