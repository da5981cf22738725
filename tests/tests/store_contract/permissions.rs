//! The relation tuples, their change log and the log's positions.

use super::{Tenants, name, nid_tables, now, unchanged_by};
use permission::changes::{self, Operation};
use permission::model::{Subject, SubjectSet, Tuple};
use permission::tuple_store::{self, TupleFilter};
use store::entity::{relation_tuple_changes, relation_tuple_positions, relation_tuples};

pub fn tables() -> Vec<&'static str> {
    vec![
        name::<relation_tuples::Entity>(),
        name::<relation_tuple_changes::Entity>(),
        name::<relation_tuple_positions::Entity>(),
    ]
}

fn tuple(object: &str, subject: &str) -> Tuple {
    Tuple {
        userset: SubjectSet {
            namespace: 1,
            object: object.into(),
            relation: "viewer".into(),
        },
        subject: Subject::Id(subject.into()),
    }
}

#[tokio::test]
async fn another_network_sees_and_changes_none_of_the_tuples_and_changes() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let granted = tuple("report", "ada");
    assert!(
        tuple_store::insert(conn, t.a, &granted, now())
            .await
            .unwrap()
    );
    changes::record(conn, t.a, &[(Operation::Insert, &granted)], now())
        .await
        .unwrap();
    let everything = TupleFilter::default();
    let this_one = TupleFilter {
        namespace: Some(1),
        object: Some("report".into()),
        relation: Some("viewer".into()),
        subject: Some(Subject::Id("ada".into())),
    };

    let tables = nid_tables(&tables());
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        assert!(
            tuple_store::list(conn, b, &everything, 0, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            tuple_store::list(conn, b, &this_one, 0, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(tuple_store::delete(conn, b, &granted).await.unwrap(), 0);
        let deleted = tuple_store::delete_matching(conn, b, &this_one)
            .await
            .unwrap();
        assert!(deleted.is_empty());
        assert!(changes::since(conn, b, 0, 100).await.unwrap().is_empty());
        assert_eq!(changes::positions(conn, b).await.unwrap(), (0, 0));
    })
    .await;

    // B writing the same tuple is B's own row, beside A's.
    assert!(
        tuple_store::insert(conn, t.b, &granted, now())
            .await
            .unwrap()
    );
    let a = t.a;
    let listed = tuple_store::list(conn, a, &this_one, 0, 100).await.unwrap();
    assert_eq!(
        listed.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
        vec![granted.clone()]
    );
    assert_eq!(changes::since(conn, a, 0, 100).await.unwrap().len(), 1);
    assert_ne!(changes::positions(conn, a).await.unwrap(), (0, 0));
    assert_eq!(tuple_store::delete(conn, a, &granted).await.unwrap(), 1);
    assert_eq!(
        tuple_store::list(conn, t.b, &this_one, 0, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}
