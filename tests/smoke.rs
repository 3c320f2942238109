mod common;
use common::*;

#[test]
fn ping_and_read_back_a_written_file() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    assert_eq!(ping(&mut c, "be1:9060").status_code, Code::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = uri(&dir.path().join("a/b/out.csv"));
    let w = open_writer(&mut c, &path, "be1:9060");
    assert_eq!(w.op_status.status_code, Code::OK, "{:?}", w.op_status);
    let fd = w.fd.unwrap();
    assert_eq!(pwrite(&mut c, &fd, 0, b"hello ").status_code, Code::OK);
    assert_eq!(pwrite(&mut c, &fd, 6, b"world").status_code, Code::OK);
    assert_eq!(close_writer(&mut c, &fd).status_code, Code::OK);
    let r = open_reader(&mut c, &path, "be1:9060");
    assert_eq!(r.op_status.status_code, Code::OK);
    let rfd = r.fd.unwrap();
    let data = pread(&mut c, &rfd, 0, 100);
    assert_eq!(data.data.unwrap(), b"hello world");
    let list = c.list_path(list_req(&path, false, false)).unwrap();
    assert_eq!(
        list.files.unwrap()[0].path,
        format!("file:{}", dir.path().join("a/b/out.csv").display())
    );
}
