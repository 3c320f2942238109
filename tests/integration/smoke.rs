use crate::common::*;

#[test]
fn ping_and_read_back_a_written_file() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    assert_eq!(c.ping("be1:9060").status_code, Code::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = uri(&dir.path().join("a/b/out.csv"));
    let w = c.open_writer(&path, "be1:9060");
    assert_eq!(w.op_status.status_code, Code::OK, "{:?}", w.op_status);
    let fd = w.fd.unwrap();
    assert_eq!(c.pwrite(&fd, 0, b"hello ").status_code, Code::OK);
    assert_eq!(c.pwrite(&fd, 6, b"world").status_code, Code::OK);
    assert_eq!(c.close_writer(&fd).status_code, Code::OK);
    let r = c.open_reader(&path, "be1:9060");
    assert_eq!(r.op_status.status_code, Code::OK);
    let rfd = r.fd.unwrap();
    let data = c.pread(&rfd, 0, 100);
    assert_eq!(data.data.unwrap(), b"hello world");
    let list = c.list(&path, false, false);
    assert_eq!(
        list.files.unwrap()[0].path,
        format!("file:{}", dir.path().join("a/b/out.csv").display())
    );
}
