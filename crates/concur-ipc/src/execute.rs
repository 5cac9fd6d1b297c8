//! Running a call in the worker: [`Registry::execute`] resolves the call's
//! function once and runs its items in order, one result each.

use crate::outcomes::Outcomes;
use crate::registry::Registry;
use crate::wire::Call;
use crate::wire_ref::CallRef;

impl Registry {
    /// Runs every item of `call` (in order) and returns one result per item.
    /// Never panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{Call, FnRef, Registry};
    /// concur_ipc::remote! {
    ///     fn inc(x: u32) -> u32 { x + 1 }
    /// }
    /// let call = Call {
    ///     generation: 1,
    ///     func: FnRef::of::<inc>(),
    ///     items: vec![concur_ipc::encode(&1u32).unwrap()].into(),
    /// };
    /// let out = Registry::global().execute(&call);
    /// assert_eq!(concur_ipc::decode::<u32>(out.get(0).unwrap().unwrap()).unwrap(), 2);
    /// ```
    #[must_use]
    pub fn execute(&self, call: &Call) -> Outcomes {
        self.execute_items(call.func, call.items.byte_len(), call.items.iter())
    }

    /// [`execute`](Self::execute) on a borrowed call (its arguments where
    /// they lie in the frame).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{Call, CallRef, FnRef, Registry};
    /// concur_ipc::remote! {
    ///     fn twice(x: u32) -> u32 { 2 * x }
    /// }
    /// let call = Call { generation: 0, func: FnRef::of::<twice>(), items: vec![concur_ipc::encode(&21u32).unwrap()].into() };
    /// let bytes = concur_ipc::encode(&call).unwrap();
    /// let view: CallRef<'_> = concur_ipc::decode(&bytes).unwrap();
    /// let out = Registry::global().execute_ref(&view);
    /// assert_eq!(concur_ipc::decode::<u32>(out.get(0).unwrap().unwrap()).unwrap(), 42);
    /// ```
    #[must_use]
    pub fn execute_ref(&self, call: &CallRef<'_>) -> Outcomes {
        self.execute_items(call.func, call.items.byte_len(), call.items.iter())
    }

    fn execute_items<'i>(
        &self,
        func: crate::FnRef,
        bytes: usize,
        items: impl ExactSizeIterator<Item = &'i [u8]>,
    ) -> Outcomes {
        let mut out = Outcomes::with_capacity(items.len(), bytes);
        match self.resolve(func) {
            Ok(reg) => {
                for args in items {
                    reg.invoke_into(args, &mut out);
                }
            }
            Err(e) => {
                for _ in 0..items.len() {
                    out.push_err(e.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RemoteErrorKind;
    use crate::fn_ref::FnRef;
    use crate::frame::encode;
    use crate::outcomes::ItemResult;
    use concur_core::RemoteFn;

    crate::remote! {
        fn unit_fn() { }
        fn three(a: u8, b: u16, c: String) -> String { format!("{a}{b}{c}") }
        fn early(x: i32) -> i32 { if x < 0 { return 0 } x }
        fn failing(x: u8) -> Result<u8, std::num::TryFromIntError> { u8::try_from(u32::from(x) * 1000) }
        fn panicking(x: u8) -> u8 { if x > 0 { panic!("bad {x}") } x }
    }

    fn run<F: RemoteFn>(args: &F::Args) -> ItemResult {
        Registry::global()
            .execute(&Call {
                generation: 0,
                func: FnRef::of::<F>(),
                items: vec![encode(args).unwrap()].into(),
            })
            .get(0)
            .unwrap()
            .map(<[u8]>::to_vec)
            .map_err(Clone::clone)
    }

    #[test]
    fn macro_shapes() {
        unit_fn::call(()).unwrap();
        assert_eq!(three::call((1, 2, "c".into())).unwrap(), "12c");
        assert_eq!(early::call(-5).unwrap(), 0);
        assert!(unit_fn::NAME.ends_with("execute::tests::unit_fn"));
    }

    #[test]
    fn task_error_keeps_type_name() {
        let e = run::<failing>(&3).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::Task);
        assert_eq!(e.type_name(), "core::num::error::TryFromIntError");
        assert!(run::<failing>(&0).is_ok());
    }

    #[test]
    fn panic_becomes_remote_error() {
        let e = run::<panicking>(&3).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::Panic);
        assert_eq!(e.type_name(), "String");
        assert_eq!(e.message(), "bad 3");
    }

    #[test]
    fn bad_arguments_and_unknown_ids() {
        let reg = Registry::global();
        let good = FnRef::of::<three>();
        let out = reg.execute(&Call {
            generation: 0,
            func: good,
            items: vec![vec![1, 2], encode(&(1u8, 2u16, "x")).unwrap()].into(),
        });
        assert_eq!(
            out.get(0).unwrap().unwrap_err().kind(),
            RemoteErrorKind::DecodeArgs
        );
        assert!(out.get(1).unwrap().is_ok());
        let bad_fp = FnRef {
            id: good.id,
            fingerprint: good.fingerprint ^ 1,
        };
        let e = reg.resolve(bad_fp).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::SignatureMismatch);
        assert!(e.message().contains("three"));
        // Trailing bytes after valid arguments are rejected.
        let mut args = encode(&7i32).unwrap();
        args.push(0);
        let out = reg.execute(&Call {
            generation: 0,
            func: FnRef::of::<early>(),
            items: vec![args].into(),
        });
        assert_eq!(
            out.get(0).unwrap().unwrap_err().kind(),
            RemoteErrorKind::DecodeArgs
        );
    }
}
