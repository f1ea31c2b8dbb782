//! The Starlark side of mutation scripts: the dialect, the `content` value and one evaluation
//! with its limits. Nothing here touches a file; every `content` call goes to a [`ContentHost`].

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

use starlark::environment::{Globals, LibraryExtension, Module};
use starlark::eval::Evaluator;
use starlark::syntax::{AstModule, Dialect, DialectTypes};

use super::{ContentHost, Limits, ScriptFailure};

/// The language chisel's scripts are written in: go.starlark.net with top-level statements and
/// global re-assignment, nothing that reaches outside (no `load`), no types or f-strings.
fn dialect() -> Dialect {
    Dialect {
        enable_def: true,
        enable_lambda: true,
        enable_load: false,
        enable_keyword_only_arguments: false,
        enable_positional_only_arguments: false,
        enable_types: DialectTypes::Disable,
        enable_top_level_stmt: true,
        enable_f_strings: false,
        ..Dialect::Standard
    }
}

/// The builtins: the standard ones plus `print` (no `set`, `json` or `struct`, which chisel's
/// interpreter lacks).
fn globals() -> &'static Globals {
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    GLOBALS.get_or_init(|| Globals::extended_by(&[LibraryExtension::Print]))
}

/// A parsed script, ready to run.
pub(crate) struct Parsed(AstModule);

/// Parses `source` as the script named `mutate`, as chisel names it in messages.
pub(crate) fn parse(source: &str) -> Result<Parsed, ScriptFailure> {
    AstModule::parse("mutate", source.to_owned(), &dialect())
        .map(Parsed)
        .map_err(|error| ScriptFailure::Script(one_line(&error)))
}

/// The values a script sees. Starlark's derives write `unsafe impl`s (of `ProvidesStaticType`,
/// which lets `extra` and values be downcast); they are sound by construction, and this module
/// holds nothing else.
mod value {
    #![expect(unsafe_code, reason = "only the starlark derives' generated impls")]

    use std::fmt;

    use allocative::Allocative;
    use starlark::any::ProvidesStaticType;
    use starlark::environment::{Methods, MethodsBuilder};
    use starlark::eval::Evaluator;
    use starlark::starlark_module;
    use starlark::starlark_simple_value;
    use starlark::values::none::NoneType;
    use starlark::values::starlark_value;
    use starlark::values::{NoSerialize, StarlarkValue, Value};

    use crate::mutate::ContentHost;

    /// What the `content` methods reach through the evaluator.
    #[derive(ProvidesStaticType)]
    pub(super) struct HostContext<'h> {
        pub(super) host: &'h dyn ContentHost,
        pub(super) print: &'h dyn Fn(&str),
    }

    /// The script's `content` global. It has no state: the methods find the host in the evaluator.
    #[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
    pub(super) struct Content;

    impl fmt::Display for Content {
        fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("<content>")
        }
    }

    starlark_simple_value!(Content);

    fn host<'a>(eval: &'a Evaluator<'_, '_, '_>) -> anyhow::Result<&'a HostContext<'a>> {
        eval.extra
            .and_then(|extra| extra.downcast_ref::<HostContext<'_>>())
            .ok_or_else(|| anyhow::anyhow!("content is not available here"))
    }

    #[starlark_module]
    fn content_methods(builder: &mut MethodsBuilder) {
        fn read<'v>(
            #[starlark(this)] _this: Value<'v>,
            path: &str,
            eval: &mut Evaluator<'v, '_, '_>,
        ) -> anyhow::Result<String> {
            let bytes = host(eval)?.host.read(path).map_err(anyhow::Error::msg)?;
            // Starlark strings here are text; handing out lossy text would corrupt a file that is
            // written back, so a file that is not UTF-8 is refused.
            String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("cannot read file which is not UTF-8 text: {path}"))
        }

        fn write<'v>(
            #[starlark(this)] _this: Value<'v>,
            path: &str,
            data: &str,
            eval: &mut Evaluator<'v, '_, '_>,
        ) -> anyhow::Result<NoneType> {
            host(eval)?
                .host
                .write(path, data.as_bytes())
                .map_err(anyhow::Error::msg)?;
            Ok(NoneType)
        }

        fn list<'v>(
            #[starlark(this)] _this: Value<'v>,
            path: &str,
            eval: &mut Evaluator<'v, '_, '_>,
        ) -> anyhow::Result<Vec<String>> {
            host(eval)?.host.list(path).map_err(anyhow::Error::msg)
        }
    }

    starlark::methods_static!(CONTENT_METHODS = content_methods);

    #[starlark_value(type = "content")]
    impl<'v> StarlarkValue<'v> for Content {
        fn get_methods() -> Option<&'static Methods> {
            Some(CONTENT_METHODS.methods())
        }
    }
}

use value::{Content, HostContext};

struct PrintTo<'p>(&'p dyn Fn(&str));

impl starlark::PrintHandler for PrintTo<'_> {
    fn println(&self, text: &str) -> starlark::Result<()> {
        (self.0)(text);
        Ok(())
    }
}

/// Runs one parsed script against `host` within `limits`; `print` receives what it prints.
pub(crate) fn run(
    parsed: Parsed,
    host: &dyn ContentHost,
    limits: &Limits,
    print: &dyn Fn(&str),
) -> Result<(), ScriptFailure> {
    let context = HostContext { host, print };
    let printer = PrintTo(context.print);
    let deadline = Instant::now() + limits.time;
    let timed_out = Cell::new(false);
    let result = Module::with_temp_heap(|module| {
        module.set("content", module.heap().alloc(Content));
        let mut eval = Evaluator::new(&module);
        eval.extra = Some(&context);
        eval.set_print_handler(&printer);
        let limit_error = |error: anyhow::Error| ScriptFailure::Script(error.to_string());
        eval.set_max_tick_count(limits.ticks).map_err(limit_error)?;
        eval.set_max_heap_size(limits.heap).map_err(limit_error)?;
        // Deep call chains (recursion, which chisel's dialect refuses) end here, not in a
        // stack overflow.
        eval.set_max_callstack_size(limits.call_depth)
            .map_err(limit_error)?;
        eval.set_check_cancelled(Box::new(|| {
            let late = Instant::now() > deadline;
            timed_out.set(late);
            late
        }));
        eval.eval_module(parsed.0, globals())
            .map(drop)
            .map_err(|error| {
                if timed_out.get() {
                    ScriptFailure::Time(limits.time)
                } else if error.span().is_none()
                    && error.to_string().contains("ticks has been exceeded")
                {
                    ScriptFailure::Steps(limits.ticks)
                } else {
                    ScriptFailure::Script(one_line(&error))
                }
            })
    });
    result
}

/// `mutate:<line>:<column>: <message>`, the message without Starlark's source excerpt; limit
/// errors have no position.
fn one_line(error: &starlark::Error) -> String {
    let message = error.without_diagnostic().to_string();
    let message = message.trim_end();
    // The heap-limit error carries a second, advisory line; the first says it all.
    let message = message.lines().next().unwrap_or_default();
    match error.span() {
        Some(span) => {
            let position = span.resolve_span();
            format!(
                "{}:{}:{}: {message}",
                span.filename(),
                position.begin.line + 1,
                position.begin.column + 1
            )
        }
        None => message.to_owned(),
    }
}
