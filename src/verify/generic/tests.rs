use super::*;
use crate::verify::util::testing::{headers, secrets, set};

// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
const BODY: &[u8] = b"what do ya want for nothing?";
const RFC_SHA256: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
const RFC_SHA512_B64: &str =
    "Fkt6e/z4GeLjlfvnO1bgo4e9ZCIugx/WECcM1+olBVSXWL91wFqZSm0DT2X48Ob9yuqxo01Ka0tjbgcKOLznNw==";
const NOW: u64 = 1_700_000_000;

fn body_only(encoding: Encoding, algorithm: Algorithm) -> HmacScheme {
    HmacScheme {
        header: "X-Sig".into(),
        prefix: "sha=".into(),
        encoding,
        algorithm,
        signed: "{body}".into(),
        timestamp_header: None,
        id: IdLocation::JsonPointer("/id".into()),
    }
}

fn timed() -> HmacScheme {
    HmacScheme {
        signed: "v1:{timestamp}:{id}:{body}".into(),
        timestamp_header: Some("X-Ts".into()),
        id: IdLocation::Header("X-Id".into()),
        ..body_only(Encoding::Hex, Algorithm::Sha256)
    }
}

fn check(s: &HmacScheme, keys: &[&str], h: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
    s.verify(&secrets(keys), h, body, NOW, 300)
}

#[test]
fn rfc4231_vectors_in_both_encodings_and_hashes() {
    let hex = body_only(Encoding::Hex, Algorithm::Sha256);
    let h = headers([("x-sig", format!("sha={RFC_SHA256}"))]);
    assert_eq!(check(&hex, &["Jefe"], &h, BODY), Ok(()));
    let b64 = body_only(Encoding::Base64, Algorithm::Sha512);
    let h = headers([("x-sig", format!("sha={RFC_SHA512_B64}"))]);
    assert_eq!(check(&b64, &["Jefe"], &h, BODY), Ok(()));
}

#[test]
fn round_trip_with_timestamp_and_id() {
    let s = timed();
    let h = headers(s.sign(&Secret::new("k"), b"{}", NOW, "evt_9"));
    assert_eq!(check(&s, &["k"], &h, b"{}"), Ok(()));
    assert_eq!(s.event_id(&h, b"{}"), Ok("evt_9".into()));
    let mut other_id = h.clone();
    set(&mut other_id, "x-id", b"evt_10");
    assert_eq!(
        check(&s, &["k"], &other_id, b"{}"),
        Err(VerifyError::NoMatch)
    );
}

#[test]
fn id_from_body_is_signed_when_templated() {
    let s = HmacScheme {
        signed: "{id}.{body}".into(),
        ..body_only(Encoding::Base64, Algorithm::Sha512)
    };
    let body = br#"{"id":"a1"}"#;
    let h = headers(s.sign(&Secret::new("k"), body, NOW, "ignored"));
    assert_eq!(check(&s, &["k"], &h, body), Ok(()));
    assert_eq!(
        check(&s, &["k"], &h, b"not json"),
        Err(VerifyError::NoMatch)
    );
}

#[test]
fn rejects_wrong_secret_changed_body_and_accepts_rotation() {
    let s = timed();
    let h = headers(s.sign(&Secret::new("new"), b"{}", NOW, "e"));
    assert_eq!(check(&s, &["old"], &h, b"{}"), Err(VerifyError::NoMatch));
    assert_eq!(check(&s, &["new"], &h, b"{ }"), Err(VerifyError::NoMatch));
    assert_eq!(check(&s, &["old", "new"], &h, b"{}"), Ok(()));
}

#[test]
fn missing_and_malformed_headers() {
    let s = timed();
    let signed = headers(s.sign(&Secret::new("k"), b"{}", NOW, "e"));
    for name in ["x-sig", "x-ts", "x-id"] {
        let mut h = signed.clone();
        h.remove(name);
        assert_eq!(
            check(&s, &["k"], &h, b"{}"),
            Err(VerifyError::MissingHeader(name.into()))
        );
    }
    let mut h = signed.clone();
    set(&mut h, "x-sig", b"sha256=00");
    assert!(matches!(
        check(&s, &["k"], &h, b"{}"),
        Err(VerifyError::MalformedHeader { .. })
    ));
    let mut h = signed;
    set(&mut h, "x-ts", b"soon");
    assert!(matches!(
        check(&s, &["k"], &h, b"{}"),
        Err(VerifyError::MalformedHeader { .. })
    ));
}

#[test]
fn timestamp_tolerance_applies_both_ways() {
    let s = timed();
    let old = headers(s.sign(&Secret::new("k"), b"{}", NOW - 301, "e"));
    let ahead = headers(s.sign(&Secret::new("k"), b"{}", NOW + 301, "e"));
    assert!(matches!(
        check(&s, &["k"], &old, b"{}"),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        check(&s, &["k"], &ahead, b"{}"),
        Err(VerifyError::TimestampInFuture { .. })
    ));
}

#[test]
fn unsafe_templates_fail_closed_and_fail_validation() {
    let no_body = HmacScheme {
        signed: "{timestamp}".into(),
        ..timed()
    };
    let h = headers(no_body.sign(&Secret::new("k"), b"a", NOW, "e"));
    assert_eq!(check(&no_body, &["k"], &h, b"b"), Err(VerifyError::NoMatch));
    assert!(no_body.validate().is_err());
    let no_ts_header = HmacScheme {
        timestamp_header: None,
        ..timed()
    };
    assert!(no_ts_header.validate().is_err());
    let unsigned_ts = HmacScheme {
        signed: "{body}".into(),
        ..timed()
    };
    assert!(unsigned_ts.validate().is_err());
    let bad_pointer = HmacScheme {
        id: IdLocation::JsonPointer("id".into()),
        ..body_only(Encoding::Hex, Algorithm::Sha256)
    };
    assert!(bad_pointer.validate().is_err());
    assert_eq!(timed().validate(), Ok(()));
}

#[test]
fn templates_keep_unknown_braces_literal() {
    let got = pieces("{x}{body}{");
    let want = [
        Piece::Text("{"),
        Piece::Text("x}"),
        Piece::Body,
        Piece::Text("{"),
    ];
    assert_eq!(got, want);
    assert_eq!(pieces("{body}"), [Piece::Body]);
}

#[test]
fn enums_deserialize_lower_case() {
    let enc: Encoding = serde_json::from_str("\"base64\"").unwrap();
    let alg: Algorithm = serde_json::from_str("\"sha512\"").unwrap();
    assert_eq!((enc, alg), (Encoding::Base64, Algorithm::Sha512));
    assert!(serde_json::from_str::<Encoding>("\"Hex\"").is_err());
}
