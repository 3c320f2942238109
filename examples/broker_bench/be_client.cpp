// Reads one file through a broker exactly the way a StarRocks BE does: Apache Thrift C++
// TSocket + TBufferedTransport at its default 512-byte buffer + TBinaryProtocol, 8 MiB
// preads until end of file. Built by scripts/bench.sh against Debian's libthrift-dev,
// with the C++ code generated from thrift/FileBrokerService.thrift at bench time.
//
//   be_client HOST PORT PATH CHUNK_BYTES [MAX_BYTES]
//
// Prints "<bytes> <seconds>" of the pread loop (openReader and closeReader excluded).
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

#include "TFileBrokerService.h"

using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TSocket;
using namespace starrocks;

static void check(const TBrokerOperationStatus& status, const char* what) {
    if (status.statusCode != TBrokerOperationStatusCode::OK) {
        std::fprintf(stderr, "be_client: %s failed: %d %s\n", what,
                     static_cast<int>(status.statusCode), status.message.c_str());
        std::exit(1);
    }
}

int main(int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        std::fprintf(stderr, "usage: be_client HOST PORT PATH CHUNK_BYTES [MAX_BYTES]\n");
        return 2;
    }
    auto socket = std::make_shared<TSocket>(argv[1], std::atoi(argv[2]));
    auto transport = std::make_shared<TBufferedTransport>(socket);  // 512-byte buffers
    auto protocol = std::make_shared<TBinaryProtocol>(transport);
    TFileBrokerServiceClient client(protocol);
    try {
        transport->open();
        TBrokerOpenReaderRequest open;
        open.__set_version(TBrokerVersion::VERSION_ONE);
        open.__set_path(argv[3]);
        open.__set_startOffset(0);
        open.__set_clientId("be_client");
        TBrokerOpenReaderResponse opened;
        client.openReader(opened, open);
        check(opened.opStatus, "openReader");

        const int64_t chunk = std::atoll(argv[4]);
        const int64_t max_bytes = argc == 6 ? std::atoll(argv[5]) : INT64_MAX;
        int64_t offset = 0;
        auto start = std::chrono::steady_clock::now();
        while (offset < max_bytes) {
            TBrokerPReadRequest req;
            req.__set_version(TBrokerVersion::VERSION_ONE);
            req.__set_fd(opened.fd);
            req.__set_offset(offset);
            req.__set_length(chunk);
            TBrokerReadResponse resp;
            client.pread(resp, req);
            check(resp.opStatus, "pread");
            if (resp.data.empty()) break;
            offset += static_cast<int64_t>(resp.data.size());
        }
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        TBrokerCloseReaderRequest close;
        close.__set_version(TBrokerVersion::VERSION_ONE);
        close.__set_fd(opened.fd);
        TBrokerOperationStatus closed;
        client.closeReader(closed, close);
        check(closed, "closeReader");
        transport->close();
        std::printf("%lld %.6f\n", static_cast<long long>(offset), seconds);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "be_client: %s\n", e.what());
        return 1;
    }
    return 0;
}
