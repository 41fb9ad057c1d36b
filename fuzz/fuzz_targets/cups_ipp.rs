//! Fuzzes the IPP decoder (`cups::ipp::decode`, on bytes a local cupsd answers) and the
//! printer queues made of two answers (`cups::print_queues`): never a panic, queues survive the
//! wire; and a request built from the input's names and values decodes back to them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::cups::ipp::{self, Value, tag};
use sitrep_probes::cups::print_queues;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = ipp::decode(data) {
        // The same answer as printers and as jobs, as a cupsd that answers nonsense would give.
        sitrep_fuzz::survives_the_wire(&print_queues(&response, &response));
    }
    // Encoding: names and values from the input's text, between NUL bytes.
    let text = String::from_utf8_lossy(data);
    let mut words = text.split('\0').filter(|word| !word.is_empty());
    let Some(name) = words.next() else {
        return;
    };
    let values: Vec<&str> = words.collect();
    let request = ipp::Request::new(0x4002, 7)
        .attribute(tag::KEYWORD, name, &values)
        .finish();
    let decoded = ipp::decode(&request).expect("our own request decodes");
    assert_eq!(
        (decoded.version, decoded.status, decoded.request_id),
        ((2, 0), 0x4002, 7)
    );
    let [operation] = &decoded.groups[..] else {
        panic!("one group expected, got {:?}", decoded.groups);
    };
    let attribute = operation.attributes.last().expect("attributes");
    if values.is_empty() {
        assert_eq!(attribute.name, "attributes-natural-language");
    } else if name.len() <= usize::from(u16::MAX)
        && values
            .iter()
            .all(|value| value.len() <= usize::from(u16::MAX))
    {
        assert_eq!(attribute.name, name);
        let decoded: Vec<&Value> = attribute.values.iter().collect();
        let expected: Vec<Value> = values
            .iter()
            .map(|value| Value::String((*value).to_owned()))
            .collect();
        assert_eq!(decoded, expected.iter().collect::<Vec<_>>());
    }
});
