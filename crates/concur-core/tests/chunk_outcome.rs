//! `ChunkOutcome`: every way of building one gives the same items in input
//! order, by reference and by value; malformed halves are refused, not
//! trusted.

use concur_core::{ChunkOutcome, Error, ErrorKind};

/// Each item as `Ok(value)` or `Err(kind)`, through `iter`, `get`,
/// `into_iter` and `into_results`, which must agree.
fn items(out: &ChunkOutcome<u32>) -> Vec<Result<u32, ErrorKind>> {
    let by_ref: Vec<_> = out
        .iter()
        .map(|r| r.copied().map_err(Error::kind))
        .collect();
    let by_get: Vec<_> = (0..out.len())
        .map(|i| out.get(i).unwrap().copied().map_err(Error::kind))
        .collect();
    assert_eq!(by_ref, by_get);
    assert!(out.get(out.len()).is_none());
    assert_eq!(out.iter().len(), out.len());
    let mut it = out.clone().into_iter();
    assert_eq!(it.len(), out.len());
    let by_value: Vec<_> = it.by_ref().map(|r| r.map_err(|e| e.kind())).collect();
    assert!(it.next().is_none(), "fused");
    assert_eq!(by_ref, by_value);
    let results: Vec<_> = out
        .clone()
        .into_results()
        .into_iter()
        .map(|r| r.map_err(|e| e.kind()))
        .collect();
    assert_eq!(by_ref, results);
    by_ref
}

#[test]
fn pushed_collected_and_from_parts_agree_in_input_order() {
    use ErrorKind::{Cancelled, Task};
    let expected = vec![Err(Task), Ok(1), Ok(2), Err(Cancelled), Ok(4), Err(Task)];
    let outcomes = || {
        vec![
            Err(Error::task("a")),
            Ok(1),
            Ok(2),
            Err(Error::cancelled()),
            Ok(4),
            Err(Error::task("b")),
        ]
    };

    let mut pushed = ChunkOutcome::new();
    for r in outcomes() {
        pushed.push(r);
    }
    let collected: ChunkOutcome<u32> = outcomes().into_iter().collect();
    let mut extended = ChunkOutcome::with_capacity(2);
    extended.push_err(Error::task("a"));
    extended.extend(outcomes().into_iter().skip(1));
    let parts = ChunkOutcome::from_parts(
        vec![1, 2, 4],
        vec![
            (0, Error::task("a")),
            (3, Error::cancelled()),
            (5, Error::task("b")),
        ],
    )
    .unwrap();

    for out in [&pushed, &collected, &extended, &parts] {
        assert_eq!(out.len(), 6);
        assert!(!out.is_all_ok());
        assert_eq!(out.values(), [1, 2, 4]);
        let at: Vec<usize> = out.failures().iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [0, 3, 5]);
        assert_eq!(items(out), expected);
    }
    let (values, failures) = parts.into_parts();
    assert_eq!(values, [1, 2, 4]);
    assert_eq!(failures.len(), 3);
}

#[test]
fn all_ok_empty_and_failed_as_a_whole() {
    let ok = ChunkOutcome::from_values(vec![7, 8]);
    assert!(ok.is_all_ok());
    assert_eq!(items(&ok), [Ok(7), Ok(8)]);

    let empty = ChunkOutcome::<u32>::default();
    assert!(empty.is_empty() && empty.is_all_ok());
    assert!(items(&empty).is_empty());

    let failed = ChunkOutcome::<u32>::failed(Error::shutdown(), 3);
    assert_eq!(items(&failed), vec![Err(ErrorKind::Shutdown); 3]);
    assert!(ChunkOutcome::<u32>::failed(Error::shutdown(), 0).is_empty());
}

#[test]
fn from_parts_refuses_positions_out_of_order_or_past_the_end() {
    let e = Error::cancelled;
    // Past the end: 1 value + 1 failure is 2 items, positions 0 and 1.
    assert!(ChunkOutcome::from_parts(vec![1u32], vec![(2, e())]).is_none());
    // Not strictly ascending.
    assert!(ChunkOutcome::from_parts(vec![1u32], vec![(1, e()), (0, e())]).is_none());
    assert!(ChunkOutcome::<u32>::from_parts(vec![], vec![(0, e()), (0, e())]).is_none());
    // Every failure, in order.
    assert!(ChunkOutcome::<u32>::from_parts(vec![], vec![(0, e()), (1, e())]).is_some());
    assert!(ChunkOutcome::<u32>::from_parts(vec![], vec![]).is_some());
}

#[test]
fn debug_lists_the_items_in_order() {
    let out: ChunkOutcome<u32> = [Ok(1), Err(Error::cancelled())].into_iter().collect();
    let s = format!("{out:?}");
    assert!(s.starts_with("[Ok(1), Err("), "{s}");
    assert!(format!("{:?}", out.into_iter()).starts_with("ChunkOutcomeIter"));
}
