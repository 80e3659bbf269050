//! The IVR's look-ups with the clock injected, on both backends: an order's standing (due,
//! overdue once a due day has passed, paid, not confirmed, cancelled, unknown numbers) and a rep's
//! month by phone PIN (a wrong, an invalid and a shared PIN identify no one; a cleared PIN no
//! longer works; only the person sets theirs, an admin only resets).

use super::lookups::{OrderStanding, order_standing, rep_month};
use crate::StoreError;
use crate::auth::phone_pin::{find_by_pin, has_phone_pin, set_phone_pin};
use crate::sales::orders::{self, EvenPlan};
use crate::sales::receivables;
use crate::sales::tests::{day, floor, order_of, pay, sh};

#[tokio::test]
async fn an_orders_number_tells_what_is_open_and_whether_it_is_overdue() {
    let f = floor().await;
    let db = &f.db.db;
    let mut new = order_of(f.product, 2, 50_000, None);
    new.even_plan = Some(EvenPlan {
        count: 2,
        first_due_date: day("2026-12-10"),
    });
    let order = orders::create(db, &f.rep, f.customer, &new, sh(1, 10))
        .await
        .unwrap();
    let number = order.summary.id.to_string();
    receivables::record_payment(db, &f.finance, order.summary.id, &pay(20_000), sh(2, 10))
        .await
        .unwrap();
    let due = order_standing(db, &number, sh(5, 10)).await.unwrap();
    assert_eq!(
        due,
        Some(OrderStanding {
            status: "due",
            open_fen: 80_000,
            next_due: Some(day("2026-12-10")),
        })
    );
    // The first due day has passed in Shanghai (11 December, 10:00).
    let overdue = order_standing(db, &number, sh(11, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((overdue.status, overdue.open_fen), ("overdue", 80_000));
    receivables::record_payment(db, &f.finance, order.summary.id, &pay(80_000), sh(12, 10))
        .await
        .unwrap();
    let paid = order_standing(db, &number, sh(12, 11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (paid.status, paid.open_fen, paid.next_due),
        ("paid", 0, None)
    );

    for unknown in ["", "0", "99999", "12a", "1234567890123456789"] {
        assert_eq!(order_standing(db, unknown, sh(12, 11)).await.unwrap(), None);
    }
    // An order awaiting its discount's approval owes nothing yet; a cancelled one neither.
    let discounted = order_of(f.product, 1, 10_000, Some("老客户"));
    let waiting = orders::create(db, &f.rep, f.customer, &discounted, sh(3, 10))
        .await
        .unwrap();
    let id = waiting.summary.id.to_string();
    let standing = order_standing(db, &id, sh(3, 11)).await.unwrap().unwrap();
    assert_eq!(standing.status, "not_confirmed");
    orders::cancel(db, &f.rep, waiting.summary.id, sh(3, 12))
        .await
        .unwrap();
    let standing = order_standing(db, &id, sh(3, 13)).await.unwrap().unwrap();
    assert_eq!(standing.status, "cancelled");
}

#[tokio::test]
async fn a_reps_pin_opens_their_month_and_nothing_else() {
    let f = floor().await;
    let db = &f.db.db;
    let order = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 50_000, None),
        sh(2, 10),
    )
    .await
    .unwrap();
    assert_eq!(order.summary.status, "confirmed");
    // Only the person sets their PIN; an admin may only reset it; 4–8 digits.
    assert!(matches!(
        set_phone_pin(db, &f.admin, f.rep.user_id, Some("1234"), sh(2, 11)).await,
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        set_phone_pin(db, &f.agent, f.rep.user_id, None, sh(2, 11)).await,
        Err(StoreError::Forbidden)
    ));
    for bad in ["123", "123456789", "12 4", "١٢٣٤"] {
        assert!(
            matches!(
                set_phone_pin(db, &f.rep, f.rep.user_id, Some(bad), sh(2, 11)).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad}"
        );
    }
    set_phone_pin(db, &f.rep, f.rep.user_id, Some("1234"), sh(2, 11))
        .await
        .unwrap();
    assert!(has_phone_pin(db, f.rep.user_id).await.unwrap());
    let month = rep_month(db, "1234", sh(20, 10)).await.unwrap().unwrap();
    assert_eq!(
        (
            month.user_id,
            month.month.to_string(),
            month.orders,
            month.revenue_fen
        ),
        (f.rep.user_id, "2026-12".to_owned(), 1, 50_000)
    );
    assert_eq!(rep_month(db, "4321", sh(20, 10)).await.unwrap(), None);
    assert_eq!(rep_month(db, "12", sh(20, 10)).await.unwrap(), None);
    // The same PIN chosen by someone else identifies no one.
    set_phone_pin(db, &f.agent, f.agent.user_id, Some("1234"), sh(2, 12))
        .await
        .unwrap();
    assert_eq!(find_by_pin(db, "1234").await.unwrap(), None);
    set_phone_pin(db, &f.agent, f.agent.user_id, None, sh(2, 13))
        .await
        .unwrap();
    assert_eq!(find_by_pin(db, "1234").await.unwrap(), Some(f.rep.user_id));
    // An admin's reset.
    set_phone_pin(db, &f.admin, f.rep.user_id, None, sh(2, 14))
        .await
        .unwrap();
    assert_eq!(rep_month(db, "1234", sh(20, 10)).await.unwrap(), None);
    assert!(!has_phone_pin(db, f.rep.user_id).await.unwrap());
}
