//! Credentials: what each backend accepts and refuses, and rotation with an overlap.

use super::*;

// --- auth ------------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_refuses_missing_and_wrong_credentials_with_401() {
    for d in DialectId::ALL {
        let b = backend(d);
        let path = get_path(d, seeded_id(d));
        let wrong_basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("not-the-key:X")
        );
        for auth in [
            None,
            Some("Bearer nope"),
            Some(wrong_basic.as_str()),
            Some("Bearer"),
        ] {
            let h = auth.map_or_else(Vec::new, |a| hdrs(&[("Authorization", a)]));
            let s = call(&b, "GET", &path, &h, "").await;
            assert_eq!(s.status, 401, "{d} with {auth:?}");
        }
        let ok = call(&b, "GET", &path, &creds(&b).await, "").await;
        assert_ne!(ok.status, 401, "{d} with the right credentials");
    }
}

#[tokio::test]
async fn sandbox_v1_accepts_any_password_and_rejects_the_key_as_password() {
    let b = backend(DialectId::HelpscoutV1);
    let path = get_path(DialectId::HelpscoutV1, "100");
    let enc = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let any_pw = hdrs(&[("Authorization", &enc(&format!("{SECRET}:whatever")))]);
    assert_ne!(call(&b, "GET", &path, &any_pw, "").await.status, 401);
    let swapped = hdrs(&[("Authorization", &enc(&format!("X:{SECRET}")))]);
    assert_eq!(call(&b, "GET", &path, &swapped, "").await.status, 401);
}

#[tokio::test]
async fn sandbox_bearer_vendors_do_not_accept_basic_or_the_v2_scheme_mixup() {
    for d in [DialectId::Helpcrunch, DialectId::Reach] {
        let b = backend(d);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:X"))
        );
        let s = call(
            &b,
            "GET",
            &get_path(d, "12345"),
            &hdrs(&[("Authorization", &basic)]),
            "",
        )
        .await;
        assert_eq!(s.status, 401, "{d}");
    }
}

// --- credential rotation ---------------------------------------------------------------------

#[tokio::test]
async fn sandbox_credentials_rotate_with_an_overlap_and_revoke_tokens_of_a_dropped_secret() {
    const NEW: &str = "sandbox-secret-rotated";
    for d in DialectId::ALL {
        let b = backend(d);
        let old_creds = creds(&b).await;
        let set = |list: &[&str]| json!({ "accept": list }).to_string();
        let s = call(
            &b,
            "PUT",
            "/__sandbox/credentials",
            &[],
            &set(&[SECRET, NEW]),
        )
        .await;
        assert_eq!(s.status, 204, "{d}");
        // Overlap: the old credential (and a v2 token obtained with it) still works.
        let path = get_path(d, seeded_id(d));
        assert_eq!(
            call(&b, "GET", &path, &old_creds, "").await.status,
            200,
            "{d}"
        );
        let new_auth = match d {
            DialectId::HelpscoutV2 => {
                let body = format!(
                    "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret={NEW}"
                );
                let ct = hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]);
                let t = write(&b, &ct, "POST /v2/oauth2/token", &body, 200).await;
                format!(
                    "Bearer {}",
                    json_of(&t)["access_token"].as_str().unwrap_or_default()
                )
            }
            DialectId::HelpscoutV1 => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{NEW}:X"))
            ),
            _ => format!("Bearer {NEW}"),
        };
        let new_creds = hdrs(&[("Authorization", new_auth.as_str())]);
        // The old key is revoked: only the new one works, v2 tokens of the old secret go too.
        let s = call(&b, "PUT", "/__sandbox/credentials", &[], &set(&[NEW])).await;
        assert_eq!(s.status, 204, "{d}");
        assert_eq!(
            call(&b, "GET", &path, &old_creds, "").await.status,
            401,
            "{d}"
        );
        assert_eq!(
            call(&b, "GET", &path, &new_creds, "").await.status,
            200,
            "{d}"
        );
        // Nothing to accept, or an empty credential, is refused and changes nothing.
        for bad in [
            json!({ "accept": [] }),
            json!({ "accept": [" "] }),
            json!({}),
        ] {
            let s = call(&b, "PUT", "/__sandbox/credentials", &[], &bad.to_string()).await;
            assert_eq!(s.status, 400, "{d} {bad}");
        }
        assert_eq!(
            call(&b, "GET", &path, &new_creds, "").await.status,
            200,
            "{d}"
        );
    }
}
