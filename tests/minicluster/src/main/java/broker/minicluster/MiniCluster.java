package broker.minicluster;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSCluster.DataNodeProperties;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.namenode.NameNode;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * Test-only launcher for a real HDFS (Hadoop's in-process MiniDFSCluster), driven by the
 * broker's integration tests over stdin/stdout. See README.md beside the pom for the contract.
 *
 * <p>stdout carries only the protocol: one {@code Ready!} line once the cluster is up, then one
 * {@code ok} or {@code error: ...} line per command read from stdin. Everything else (Hadoop's
 * logging, stray prints) goes to stderr or to WORKDIR/minicluster.log.
 */
public final class MiniCluster {

  static final String PROXY_PROVIDER =
      "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";
  static final String VIEWFS_CLUSTER = "cluster";
  static final long SETTLE_TIMEOUT_MS = 60_000;

  enum Shape { PLAIN, HA, FEDERATED, VIEWFS, SECURE }

  /** One namenode, in MiniDFSCluster's index order (nameservice by nameservice). */
  static final class Nn {
    final int index;
    final String nameservice; // null in the plain shape
    final String nnId;        // id in the client config (nn1, nn2); null in the plain shape
    final int rpcPort;
    final int httpPort;
    /** The HTTPS web port (--https), fixed up front like the others; 0 without TLS. */
    int httpsPort;
    int mdfs = -1; // MiniDFSCluster's own index (its nameservice order is a hash order)
    boolean running = true;

    Nn(int index, String nameservice, String nnId, int rpcPort, int httpPort) {
      this.index = index;
      this.nameservice = nameservice;
      this.nnId = nnId;
      this.rpcPort = rpcPort;
      this.httpPort = httpPort;
    }

    String rpc() { return "127.0.0.1:" + rpcPort; }
  }

  /** A datanode slot: its index never changes, whatever MiniDFSCluster does to its own list. */
  static final class Dn {
    final int index;
    DataNode live;             // null while stopped
    DataNodeProperties stopped; // set while stopped
    String xfer, ipc, uuid;    // of the running one, or of the last one that ran
    Dn(int index, DataNode live) { this.index = index; this.live = live; }

    void setLive(DataNode dn) {
      live = dn;
      stopped = null;
      xfer = "127.0.0.1:" + dn.getXferAddress().getPort();
      ipc = "127.0.0.1:" + dn.getIpcPort();
      uuid = dn.getDatanodeUuid();
    }
  }

  final Shape shape;
  final File workDir;
  final File dataDir;
  final File confDir;
  final int numDataNodes;
  final int replication;
  final long blockSize;
  final List<Integer> fixedPorts;
  final Map<String, String> overrides;
  final PrintStream out;
  /** The secure shape's KDC and principals; null in every other shape. */
  final SecureSetup secure;
  /** --https: every web port (namenodes, datanodes, HttpFS) speaks HTTPS only; else null. */
  TlsSetup tls;
  /** --httpfs: an HttpFS gateway beside the cluster (plain or ha shape); null otherwise. */
  org.apache.hadoop.fs.http.server.HttpFsGateway httpfs;
  boolean wantHttpfs;
  int httpfsPort;

  final List<Nn> namenodes = new ArrayList<>();
  final List<Dn> datanodes = new ArrayList<>();
  final List<String> nameservices = new ArrayList<>();
  final Map<String, String> mounts = new LinkedHashMap<>();
  String mountFallback;
  String defaultFs;
  MiniDFSCluster cluster;
  final AtomicBoolean closed = new AtomicBoolean();

  MiniCluster(Shape shape, File workDir, int numDataNodes, List<Integer> fixedPorts,
      Map<String, String> overrides, long ticketLifetimeSeconds, PrintStream out) {
    this.shape = shape;
    this.workDir = workDir;
    this.dataDir = new File(workDir, "data");
    this.confDir = new File(workDir, "conf");
    this.numDataNodes = numDataNodes;
    this.replication = Integer.parseInt(overrides.getOrDefault("dfs.replication",
        String.valueOf(Math.min(3, numDataNodes))));
    this.blockSize = Long.parseLong(overrides.getOrDefault("dfs.blocksize", "1048576"));
    this.fixedPorts = fixedPorts;
    this.overrides = overrides;
    this.out = out;
    this.secure = shape == Shape.SECURE ? new SecureSetup(workDir, ticketLifetimeSeconds) : null;
  }

  // ---------------------------------------------------------------------------------------
  // Entry point

  public static void main(String[] args) {
    if (args.length >= 2) {
      File wd = new File(args[1]).getAbsoluteFile();
      wd.mkdirs();
      if (System.getProperty("minicluster.log.file") == null) {
        System.setProperty("minicluster.log.file", new File(wd, "minicluster.log").getPath());
      }
    }
    if (System.getProperty("minicluster.log.level") == null) {
      System.setProperty("minicluster.log.level", "INFO");
    }
    // The protocol owns the real stdout; anything else that prints goes to stderr.
    PrintStream proto = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
        StandardCharsets.UTF_8);
    System.setOut(System.err);

    MiniCluster mc;
    try {
      mc = parse(args, proto);
    } catch (IllegalArgumentException e) {
      System.err.println("minicluster: " + e.getMessage());
      System.err.println("usage: MiniCluster plain|ha|federated|viewfs|secure WORKDIR"
          + " [--datanodes N] [--ports P1,P2,...] [--conf KEY=VALUE]... [--ticket-lifetime S]");
      proto.println("error: " + oneLine(e.getMessage()));
      System.exit(2);
      return;
    }

    Runtime.getRuntime().addShutdownHook(new Thread(mc::close, "minicluster-shutdown"));
    long t0 = System.nanoTime();
    try {
      mc.start();
    } catch (Throwable t) {
      t.printStackTrace();
      proto.println("error: start failed: " + oneLine(String.valueOf(t)));
      mc.close();
      Runtime.getRuntime().halt(1);
    }
    System.err.printf(Locale.ROOT, "minicluster: %s cluster up in %.1f s%n",
        mc.shape.name().toLowerCase(Locale.ROOT), (System.nanoTime() - t0) / 1e9);
    proto.println("Ready!");

    int code = mc.serve();
    mc.close();
    // Hadoop leaves non-daemon threads behind; do not wait for them.
    Runtime.getRuntime().halt(code);
  }

  static MiniCluster parse(String[] args, PrintStream proto) {
    if (args.length < 2) {
      throw new IllegalArgumentException("SHAPE and WORKDIR are required");
    }
    Shape shape;
    try {
      shape = Shape.valueOf(args[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown shape '" + args[0]
          + "' (expected plain, ha, federated, viewfs or secure)");
    }
    File workDir = new File(args[1]).getAbsoluteFile();
    int dns = 3;
    List<Integer> ports = new ArrayList<>();
    Map<String, String> overrides = new LinkedHashMap<>();
    long ticketLifetime = 86400;
    boolean https = false;
    boolean httpfs = false;
    boolean spnego = false;
    for (int i = 2; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--datanodes":
          if (v == null) throw new IllegalArgumentException("--datanodes needs a value");
          dns = Integer.parseInt(v);
          if (dns < 1) throw new IllegalArgumentException("--datanodes must be >= 1");
          i++;
          break;
        case "--ports":
          if (v == null) throw new IllegalArgumentException("--ports needs a value");
          for (String p : v.split(",")) {
            if (!p.isBlank()) ports.add(Integer.parseInt(p.trim()));
          }
          i++;
          break;
        case "--conf":
          if (v == null || !v.contains("=")) {
            throw new IllegalArgumentException("--conf needs KEY=VALUE");
          }
          overrides.put(v.substring(0, v.indexOf('=')), v.substring(v.indexOf('=') + 1));
          i++;
          break;
        case "--ticket-lifetime":
          // secure shape: the KDC's longest ticket, in seconds
          if (v == null) throw new IllegalArgumentException("--ticket-lifetime needs seconds");
          ticketLifetime = Long.parseLong(v);
          if (ticketLifetime < 2) throw new IllegalArgumentException("--ticket-lifetime >= 2");
          i++;
          break;
        case "--https":
          https = true;
          break;
        case "--httpfs":
          httpfs = true;
          break;
        case "--spnego":
          spnego = true;
          break;
        default:
          throw new IllegalArgumentException("unknown option " + a);
      }
    }
    if ((https || httpfs) && shape != Shape.PLAIN && shape != Shape.HA) {
      throw new IllegalArgumentException("--https and --httpfs need the plain or ha shape");
    }
    MiniCluster mc = new MiniCluster(shape, workDir, dns, ports, overrides, ticketLifetime,
        proto);
    if (spnego && shape != Shape.SECURE) {
      throw new IllegalArgumentException("--spnego needs the secure shape");
    }
    if (https) mc.tls = new TlsSetup(workDir);
    if (spnego) mc.secure.spnego = true;
    mc.wantHttpfs = httpfs;
    return mc;
  }

  // ---------------------------------------------------------------------------------------
  // Start

  void start() throws Exception {
    Files.createDirectories(workDir.toPath());
    Files.createDirectories(confDir.toPath());
    // A fresh cluster every start: MiniDFSCluster formats anyway, and stale DN dirs confuse it.
    org.apache.hadoop.fs.FileUtil.fullyDelete(dataDir);
    Files.createDirectories(dataDir.toPath());
    Files.deleteIfExists(new File(workDir, "cluster.json").toPath());
    Files.deleteIfExists(new File(workDir, "cluster.properties").toPath());

    // One port source for every port chosen here, so no two are handed out twice.
    PortSource ports = new PortSource(fixedPorts);
    MiniDFSNNTopology topology = topology(ports);
    Configuration conf = serverConf();
    if (tls != null) {
      tls.generate();
      tls.serverConf(conf);
      // Each namenode's HTTPS port fixed (restarts keep it): the HA shape's by its
      // suffixed key, which MiniDFSCluster copies to the generic one of that namenode.
      for (Nn nn : namenodes) {
        String key = nn.nameservice == null ? "dfs.namenode.https-address"
            : "dfs.namenode.https-address." + nn.nameservice + "." + nn.nnId;
        conf.set(key, "127.0.0.1:" + nn.httpsPort);
      }
    }
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    if (wantHttpfs) {
      // The gateway calls HDFS as this user on behalf of each request's user.
      conf.set("hadoop.proxyuser." + user + ".hosts", "*");
      conf.set("hadoop.proxyuser." + user + ".groups", "*");
      httpfsPort = ports.next();
    }
    if (secure != null) {
      secure.start();
      secure.secureServerConf(conf);
      // Overrides still win over the secure defaults.
      for (Map.Entry<String, String> e : overrides.entrySet()) conf.set(e.getKey(), e.getValue());
      secure.loginAsService(conf);
    }

    cluster = new MiniDFSCluster.Builder(conf, dataDir)
        .nnTopology(topology)
        .numDataNodes(numDataNodes)
        .build();

    for (int i = 0; i < cluster.getNumNameNodes(); i++) {
      int port = cluster.getNameNode(i).getNameNodeAddress().getPort();
      for (Nn nn : namenodes) {
        if (nn.rpcPort == port) nn.mdfs = i;
      }
    }
    for (Nn nn : namenodes) {
      if (nn.mdfs < 0) throw new IllegalStateException("namenode on port " + nn.rpcPort
          + " not found in the cluster");
    }
    for (int i = 0; i < numDataNodes; i++) {
      datanodes.add(new Dn(i, cluster.getDataNodes().get(i)));
    }
    if (shape == Shape.HA) {
      cluster.transitionToActive(namenodes.get(0).mdfs);
    }
    settle();
    for (Dn dn : datanodes) dn.setLive(dn.live);

    writeClientConf();
    fixturesAndSelfCheck();
    if (wantHttpfs) {
      Map<String, String> site = new LinkedHashMap<>();
      // HttpFS loads its proxy-user rules into Hadoop's static ProxyUsers, which the
      // namenode in this same JVM then checks too: they must let this user impersonate.
      site.put("httpfs.proxyuser." + user + ".hosts", "*");
      site.put("httpfs.proxyuser." + user + ".groups", "*");
      httpfs = new org.apache.hadoop.fs.http.server.HttpFsGateway(new File(workDir, "httpfs"),
          confDir, httpfsPort, site, tls == null ? null : tls.httpfsSslConf());
      httpfs.start();
    }
    writeState();
  }

  /** Namenode topology with ports chosen up front, so restarts keep their addresses. */
  MiniDFSNNTopology topology(PortSource ports) throws IOException {
    MiniDFSNNTopology topo = new MiniDFSNNTopology();
    switch (shape) {
      case PLAIN:
      case SECURE: {
        Nn nn = new Nn(0, null, null, ports.next(), ports.next());
        if (tls != null) nn.httpsPort = ports.next();
        namenodes.add(nn);
        topo.addNameservice(new MiniDFSNNTopology.NSConf(null).addNN(
            new MiniDFSNNTopology.NNConf(null).setIpcPort(nn.rpcPort).setHttpPort(nn.httpPort)));
        defaultFs = "hdfs://" + nn.rpc();
        break;
      }
      case HA: {
        nameservices.add("ns1");
        MiniDFSNNTopology.NSConf ns = new MiniDFSNNTopology.NSConf("ns1");
        for (int i = 0; i < 2; i++) {
          Nn nn = new Nn(i, "ns1", "nn" + (i + 1), ports.next(), ports.next());
          if (tls != null) nn.httpsPort = ports.next();
          namenodes.add(nn);
          ns.addNN(new MiniDFSNNTopology.NNConf(nn.nnId)
              .setIpcPort(nn.rpcPort).setHttpPort(nn.httpPort));
        }
        topo.addNameservice(ns);
        defaultFs = "hdfs://ns1";
        break;
      }
      case FEDERATED:
      case VIEWFS: {
        for (int i = 0; i < 2; i++) {
          String nsId = "ns" + (i + 1);
          nameservices.add(nsId);
          Nn nn = new Nn(i, nsId, "nn1", ports.next(), ports.next());
          namenodes.add(nn);
          // Server side: a plain (non-HA) namenode per nameservice.
          topo.addNameservice(new MiniDFSNNTopology.NSConf(nsId).addNN(
              new MiniDFSNNTopology.NNConf(null)
                  .setIpcPort(nn.rpcPort).setHttpPort(nn.httpPort)));
        }
        topo.setFederation(true);
        if (shape == Shape.FEDERATED) {
          defaultFs = "hdfs://ns1";
        } else {
          defaultFs = "viewfs://" + VIEWFS_CLUSTER + "/";
          mounts.put("/data", "hdfs://ns1/data");
          mounts.put("/tmp", "hdfs://ns2/tmp");
          mountFallback = "hdfs://ns1/";
        }
        break;
      }
      default:
        throw new IllegalStateException();
    }
    return topo;
  }

  Configuration serverConf() {
    Configuration conf = new HdfsConfiguration();
    conf.set("hadoop.tmp.dir", new File(dataDir, "tmp").getPath());
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.setInt("dfs.replication", replication);
    conf.setLong("dfs.blocksize", blockSize);
    // Everything on loopback; web UIs are started by MiniDFSCluster regardless, on 127.0.0.1.
    conf.set("dfs.namenode.https-address", "127.0.0.1:0");
    conf.set("dfs.datanode.https.address", "127.0.0.1:0");
    // Notice a stopped datanode within ~15 s (2 * recheck + 10 * heartbeat).
    conf.setLong("dfs.heartbeat.interval", 1);
    conf.setInt("dfs.namenode.heartbeat.recheck-interval", 2500);
    conf.setLong("dfs.namenode.stale.datanode.interval", 6000);
    conf.setInt("dfs.namenode.safemode.extension", 0);
    // HA: manual failover only; no checkpoints from the standby, quick edit tailing.
    conf.setBoolean("dfs.ha.standby.checkpoints", false);
    conf.set("dfs.ha.tail-edits.period", "1s");
    // Lean: 2 cores for everything.
    conf.setInt("dfs.namenode.handler.count", 4);
    conf.setInt("dfs.namenode.service.handler.count", 2);
    conf.setInt("dfs.datanode.handler.count", 3);
    conf.setLong("dfs.namenode.resource.du.reserved", 1L << 20);
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      conf.set(e.getKey(), e.getValue());
    }
    return conf;
  }

  // ---------------------------------------------------------------------------------------
  // Client configuration and state files

  Map<String, String> coreSite() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("fs.defaultFS", defaultFs);
    m.put("hadoop.security.authentication", secure != null ? "kerberos" : "simple");
    for (Map.Entry<String, String> e : mounts.entrySet()) {
      m.put("fs.viewfs.mounttable." + VIEWFS_CLUSTER + ".link." + e.getKey(), e.getValue());
    }
    if (mountFallback != null) {
      m.put("fs.viewfs.mounttable." + VIEWFS_CLUSTER + ".linkFallback", mountFallback);
    }
    return m;
  }

  Map<String, String> hdfsSite() {
    Map<String, String> m = new LinkedHashMap<>();
    if (!nameservices.isEmpty()) {
      m.put("dfs.nameservices", String.join(",", nameservices));
    }
    // Every nameservice is described the HA way (dfs.ha.namenodes + a proxy provider), even
    // with one namenode, so hdfs://nsX URIs resolve in Java clients and hdfs-native alike.
    for (String ns : nameservices) {
      List<String> ids = new ArrayList<>();
      for (Nn nn : namenodes) {
        if (ns.equals(nn.nameservice)) ids.add(nn.nnId);
      }
      m.put("dfs.ha.namenodes." + ns, String.join(",", ids));
      for (Nn nn : namenodes) {
        if (!ns.equals(nn.nameservice)) continue;
        m.put("dfs.namenode.rpc-address." + ns + "." + nn.nnId, nn.rpc());
        m.put("dfs.namenode.http-address." + ns + "." + nn.nnId, "127.0.0.1:" + nn.httpPort);
        if (tls != null) {
          m.put("dfs.namenode.https-address." + ns + "." + nn.nnId, "127.0.0.1:" + nn.httpsPort);
        }
      }
      m.put("dfs.client.failover.proxy.provider." + ns, PROXY_PROVIDER);
    }
    m.put("dfs.replication", String.valueOf(replication));
    m.put("dfs.blocksize", String.valueOf(blockSize));
    m.put("dfs.permissions.enabled", "true");
    if (tls != null) {
      m.put("dfs.http.policy", "HTTPS_ONLY");
      if (nameservices.isEmpty()) {
        m.put("dfs.namenode.https-address", "127.0.0.1:" + namenodes.get(0).httpsPort);
      }
    }
    if (secure != null) m.putAll(secure.clientKeys());
    return m;
  }

  void writeClientConf() throws IOException {
    writeXml(new File(confDir, "core-site.xml"), coreSite());
    writeXml(new File(confDir, "hdfs-site.xml"), hdfsSite());
  }

  public static void writeXml(File f, Map<String, String> props) throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb.append("<!-- Written by tests/minicluster for the running test cluster. -->\n");
    sb.append("<configuration>\n");
    for (Map.Entry<String, String> e : props.entrySet()) {
      sb.append("  <property>\n    <name>").append(xml(e.getKey())).append("</name>\n")
          .append("    <value>").append(xml(e.getValue())).append("</value>\n")
          .append("  </property>\n");
    }
    sb.append("</configuration>\n");
    writeAtomically(f, sb.toString());
  }

  static String xml(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  static void writeAtomically(File f, String content) throws IOException {
    File tmp = new File(f.getParentFile(), "." + f.getName() + ".tmp");
    Files.writeString(tmp.toPath(), content, StandardCharsets.UTF_8);
    Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** cluster.json and cluster.properties: the same facts, rewritten after every command. */
  synchronized void writeState() throws IOException {
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    Map<String, String> p = new LinkedHashMap<>();
    StringBuilder j = new StringBuilder("{\n");
    jf(j, "shape", str(shape.name().toLowerCase(Locale.ROOT)));
    jf(j, "workdir", str(workDir.getPath()));
    jf(j, "conf_dir", str(confDir.getPath()));
    jf(j, "default_fs", str(defaultFs));
    jf(j, "superuser", str(user));
    jf(j, "replication", String.valueOf(replication));
    jf(j, "block_size", String.valueOf(blockSize));
    jf(j, "pid", String.valueOf(ProcessHandle.current().pid()));
    p.put("shape", shape.name().toLowerCase(Locale.ROOT));
    p.put("workdir", workDir.getPath());
    p.put("conf_dir", confDir.getPath());
    p.put("default_fs", defaultFs);
    p.put("superuser", user);
    p.put("replication", String.valueOf(replication));
    p.put("block_size", String.valueOf(blockSize));
    p.put("pid", String.valueOf(ProcessHandle.current().pid()));

    List<String> nsJson = new ArrayList<>();
    for (String ns : nameservices) {
      List<String> idx = new ArrayList<>();
      for (Nn nn : namenodes) if (ns.equals(nn.nameservice)) idx.add(String.valueOf(nn.index));
      nsJson.add("{\"id\": " + str(ns) + ", \"uri\": " + str("hdfs://" + ns)
          + ", \"namenodes\": [" + String.join(", ", idx) + "]}");
    }
    j.append("  \"nameservices\": [").append(String.join(", ", nsJson)).append("],\n");
    p.put("nameservices", String.join(",", nameservices));

    List<String> nnJson = new ArrayList<>();
    for (Nn nn : namenodes) {
      String state = nnState(nn);
      nnJson.add("    {\"index\": " + nn.index
          + ", \"nameservice\": " + (nn.nameservice == null ? "null" : str(nn.nameservice))
          + ", \"id\": " + (nn.nnId == null ? "null" : str(nn.nnId))
          + ", \"rpc\": " + str(nn.rpc())
          + ", \"http\": " + str("127.0.0.1:" + nn.httpPort)
          + (tls != null ? ", \"https\": " + str("127.0.0.1:" + nn.httpsPort) : "")
          + ", \"uri\": " + str("hdfs://" + nn.rpc())
          + ", \"running\": " + nn.running
          + ", \"state\": " + str(state) + "}");
      String k = "namenode." + nn.index + ".";
      p.put(k + "nameservice", nn.nameservice == null ? "" : nn.nameservice);
      p.put(k + "id", nn.nnId == null ? "" : nn.nnId);
      p.put(k + "rpc", nn.rpc());
      p.put(k + "http", "127.0.0.1:" + nn.httpPort);
      if (tls != null) p.put(k + "https", "127.0.0.1:" + nn.httpsPort);
      p.put(k + "uri", "hdfs://" + nn.rpc());
      p.put(k + "running", String.valueOf(nn.running));
      p.put(k + "state", state);
    }
    j.append("  \"namenodes\": [\n").append(String.join(",\n", nnJson)).append("\n  ],\n");
    p.put("namenodes", String.valueOf(namenodes.size()));

    List<String> dnJson = new ArrayList<>();
    for (Dn dn : datanodes) {
      String xfer = dn.xfer;
      String ipc = dn.ipc;
      dnJson.add("    {\"index\": " + dn.index + ", \"xfer\": " + str(xfer)
          + ", \"ipc\": " + str(ipc) + ", \"uuid\": " + str(dn.uuid)
          + ", \"running\": " + (dn.live != null) + "}");
      String k = "datanode." + dn.index + ".";
      p.put(k + "xfer", xfer);
      p.put(k + "ipc", ipc);
      p.put(k + "uuid", dn.uuid);
      p.put(k + "running", String.valueOf(dn.live != null));
    }
    j.append("  \"datanodes\": [\n").append(String.join(",\n", dnJson)).append("\n  ],\n");
    p.put("datanodes", String.valueOf(datanodes.size()));

    List<String> mj = new ArrayList<>();
    for (Map.Entry<String, String> e : mounts.entrySet()) {
      mj.add(str(e.getKey()) + ": " + str(e.getValue()));
      p.put("viewfs.link." + e.getKey(), e.getValue());
    }
    j.append("  \"viewfs\": ");
    if (mounts.isEmpty()) {
      j.append("null\n");
    } else {
      j.append("{\"cluster\": ").append(str(VIEWFS_CLUSTER))
          .append(", \"links\": {").append(String.join(", ", mj)).append("}")
          .append(", \"fallback\": ").append(str(mountFallback)).append("}\n");
      p.put("viewfs.cluster", VIEWFS_CLUSTER);
      p.put("viewfs.fallback", mountFallback);
    }
    if (tls != null) p.putAll(tls.facts());
    if (httpfs != null) p.put("httpfs", "127.0.0.1:" + httpfsPort);
    if (secure != null) {
      List<String> kj = new ArrayList<>();
      for (Map.Entry<String, String> e : secure.facts().entrySet()) {
        p.put(e.getKey(), e.getValue());
        kj.add(str(e.getKey().substring("kerberos.".length())) + ": " + str(e.getValue()));
      }
      j.append("  ,\"kerberos\": {").append(String.join(", ", kj)).append("}\n");
    }
    j.append("}\n");

    StringBuilder props = new StringBuilder("# Written by tests/minicluster; same facts as"
        + " cluster.json. Indexes are the ones the control commands take.\n");
    for (Map.Entry<String, String> e : p.entrySet()) {
      props.append(e.getKey()).append('=').append(e.getValue()).append('\n');
    }
    writeAtomically(new File(workDir, "cluster.json"), j.toString());
    writeAtomically(new File(workDir, "cluster.properties"), props.toString());
  }

  static void jf(StringBuilder j, String k, String v) {
    j.append("  ").append(str(k)).append(": ").append(v).append(",\n");
  }

  static String str(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  String nnState(Nn nn) {
    if (!nn.running) return "stopped";
    NameNode n = cluster.getNameNode(nn.mdfs);
    if (n == null) return "stopped";
    return n.getState();
  }

  // ---------------------------------------------------------------------------------------
  // Readiness: fixtures through the written client config, plus a raw TCP probe.

  void fixturesAndSelfCheck() throws Exception {
    for (Nn nn : namenodes) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", nn.rpcPort), 5000);
      }
    }
    Configuration client = new Configuration();
    client.addResource(new Path(new File(confDir, "core-site.xml").toURI()));
    client.addResource(new Path(new File(confDir, "hdfs-site.xml").toURI()));
    // Each namespace gets a world-writable sticky /tmp, for tests running as other users.
    List<URI> roots = new ArrayList<>();
    if (nameservices.isEmpty()) {
      roots.add(URI.create(defaultFs));
    } else {
      for (String ns : nameservices) roots.add(URI.create("hdfs://" + ns));
    }
    for (URI root : roots) {
      try (FileSystem fs = FileSystem.newInstance(root, client)) {
        Path tmp = new Path("/tmp");
        fs.mkdirs(tmp);
        fs.setPermission(tmp, new FsPermission((short) 01777));
        if (shape == Shape.VIEWFS && root.getHost().equals("ns1")) {
          fs.mkdirs(new Path("/data"));
        }
        if (secure != null) {
          // Each user's own directory, closed to everybody else.
          for (String user : SecureSetup.USERS) {
            Path home = new Path("/" + user);
            fs.mkdirs(home);
            fs.setOwner(home, user, user);
            fs.setPermission(home, new FsPermission((short) 0700));
          }
        }
      }
    }
    try (FileSystem fs = FileSystem.newInstance(URI.create(defaultFs), client)) {
      fs.listStatus(new Path("/"));
      if (shape == Shape.VIEWFS) {
        fs.listStatus(new Path("/data"));
        fs.listStatus(new Path("/tmp"));
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Control loop

  int serve() {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
        StandardCharsets.UTF_8));
    while (true) {
      String line;
      try {
        line = in.readLine();
      } catch (IOException e) {
        System.err.println("minicluster: stdin failed: " + e);
        return 0;
      }
      if (line == null) {
        System.err.println("minicluster: stdin closed, shutting down");
        return 0;
      }
      line = line.trim();
      if (line.isEmpty()) continue;
      String[] w = line.split("\\s+");
      if (w[0].equals("shutdown")) {
        close();
        out.println("ok");
        return 0;
      }
      String reply;
      try {
        long t0 = System.nanoTime();
        command(w);
        writeState();
        System.err.printf(Locale.ROOT, "minicluster: '%s' done in %.1f s%n", line,
            (System.nanoTime() - t0) / 1e9);
        reply = "ok";
      } catch (Throwable t) {
        t.printStackTrace();
        reply = "error: " + oneLine(t.getMessage() != null ? t.getMessage() : t.toString());
        try {
          writeState();
        } catch (Throwable ignored) {
          // keep the old state file
        }
      }
      out.println(reply);
    }
  }

  void command(String[] w) throws Exception {
    String cmd = w[0];
    if (cmd.equals("ping")) {
      expectArgs(w, 0);
      return;
    }
    if (cmd.equals("set-quota")) {
      expectArgs(w, 4);
      setQuota(nn(index(w[1])), w[2], number(w[3]), number(w[4]));
      return;
    }
    expectArgs(w, 1);
    int n = index(w[1]);
    switch (cmd) {
      case "stop-datanode": stopDataNode(dn(n)); break;
      case "restart-datanode": restartDataNode(dn(n)); break;
      case "stop-namenode": stopNameNode(nn(n)); break;
      case "restart-namenode": restartNameNode(nn(n)); break;
      case "transition-active": transitionActive(nn(n)); break;
      case "transition-standby": transitionStandby(nn(n)); break;
      default: throw new IllegalArgumentException("unknown command " + cmd);
    }
  }

  static int index(String word) {
    try {
      return Integer.parseInt(word);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not an index: " + word);
    }
  }

  static long number(String word) {
    try {
      return Long.parseLong(word);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a number: " + word);
    }
  }

  /**
   * HDFS quotas on a directory of namenode {@code nn}, set as the superuser: the namespace
   * quota (names: the directory itself, files and directories under it) and the space
   * quota (bytes, counting every replica). -1 clears one, as {@code hdfs dfsadmin -clrQuota}.
   */
  void setQuota(Nn nn, String path, long names, long bytes) throws IOException {
    if (!nn.running) throw new IllegalStateException("namenode " + nn.index + " is stopped");
    DistributedFileSystem fs = cluster.getFileSystem(nn.mdfs);
    fs.setQuota(new Path(path), names, bytes);
  }

  static void expectArgs(String[] w, int n) {
    if (w.length != n + 1) {
      throw new IllegalArgumentException(w[0] + " takes " + n + " argument(s)");
    }
  }

  Dn dn(int n) {
    if (n < 0 || n >= datanodes.size()) {
      throw new IllegalArgumentException("no datanode " + n + " (0.." + (datanodes.size() - 1)
          + ")");
    }
    return datanodes.get(n);
  }

  Nn nn(int n) {
    if (n < 0 || n >= namenodes.size()) {
      throw new IllegalArgumentException("no namenode " + n + " (0.." + (namenodes.size() - 1)
          + ")");
    }
    return namenodes.get(n);
  }

  void stopDataNode(Dn dn) {
    if (dn.live == null) throw new IllegalStateException("datanode " + dn.index + " is stopped");
    int idx = cluster.getDataNodes().indexOf(dn.live);
    DataNodeProperties props = cluster.stopDataNode(idx);
    dn.live = null;
    dn.stopped = props;
  }

  void restartDataNode(Dn dn) throws Exception {
    if (dn.live != null) stopDataNode(dn);
    cluster.restartDataNode(dn.stopped, true);
    List<DataNode> all = cluster.getDataNodes();
    DataNode fresh = all.get(all.size() - 1);
    dn.live = fresh;
    settle();
    dn.setLive(fresh); // its uuid is known once it has registered
  }

  void stopNameNode(Nn nn) {
    if (!nn.running) throw new IllegalStateException("namenode " + nn.index + " is stopped");
    cluster.shutdownNameNode(nn.mdfs);
    nn.running = false;
  }

  void restartNameNode(Nn nn) throws Exception {
    // Comes back on the same ports; an HA namenode comes back as standby.
    cluster.restartNameNode(nn.mdfs, false);
    nn.running = true;
    settle();
  }

  void transitionActive(Nn nn) throws Exception {
    requireHa(nn);
    // A failover, not a split brain: any other active namenode of the nameservice steps down.
    for (Nn other : namenodes) {
      if (other != nn && other.running && nn.nameservice.equals(other.nameservice)
          && cluster.getNameNode(other.mdfs).isActiveState()) {
        cluster.transitionToStandby(other.mdfs);
      }
    }
    cluster.transitionToActive(nn.mdfs);
    settle();
  }

  void transitionStandby(Nn nn) throws Exception {
    requireHa(nn);
    cluster.transitionToStandby(nn.mdfs);
  }

  void requireHa(Nn nn) {
    if (shape != Shape.HA) {
      throw new IllegalStateException("transitions need the ha shape");
    }
    if (!nn.running) throw new IllegalStateException("namenode " + nn.index + " is stopped");
  }

  /**
   * Waits until every running datanode is registered, alive and block-reported at every
   * running namenode, and every running active namenode is out of safe mode.
   */
  void settle() throws Exception {
    waitFor("cluster to settle", () -> {
      for (Nn nn : namenodes) {
        if (!nn.running) continue;
        NameNode n = cluster.getNameNode(nn.mdfs);
        if (n == null) return false;
        for (Dn dn : datanodes) {
          if (dn.live == null) continue;
          if (!dn.live.isDatanodeFullyStarted()) return false;
          DatanodeDescriptor d = n.getNamesystem().getBlockManager().getDatanodeManager()
              .getDatanode(dn.live.getDatanodeUuid());
          if (d == null || !d.isAlive() || !d.checkBlockReportReceived()) return false;
        }
        if (n.isActiveState() && n.isInSafeMode()) return false;
      }
      return true;
    });
  }

  static void waitFor(String what, BooleanSupplier cond) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_TIMEOUT_MS);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IOException("timed out after " + SETTLE_TIMEOUT_MS / 1000 + " s waiting for "
            + what);
      }
      Thread.sleep(100);
    }
  }

  // ---------------------------------------------------------------------------------------

  void close() {
    if (!closed.compareAndSet(false, true)) return;
    if (cluster == null) return;
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(30_000);
        System.err.println("minicluster: shutdown took over 30 s, halting");
        Runtime.getRuntime().halt(3);
      } catch (InterruptedException ignored) {
        // shutdown finished in time
      }
    }, "minicluster-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    if (httpfs != null) httpfs.stop();
    try {
      cluster.shutdown(false);
    } catch (Throwable t) {
      t.printStackTrace();
    }
    watchdog.interrupt();
    if (secure != null) secure.stop();
    // The blocks are scratch (a start wipes them anyway). A test binary's shared cluster
    // lives in a Rust static, which is never dropped, so its temporary work directory is
    // never removed: without this each run would leave gigabytes behind.
    org.apache.hadoop.fs.FileUtil.fullyDelete(dataDir);
    System.err.println("minicluster: cluster shut down");
  }

  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("[\\r\\n]+", " ").trim();
  }

  /**
   * Ports from --ports first, then free loopback ports (distinct within this launcher)
   * below the kernel's ephemeral range: a namenode restarted on its old ports
   * (restart-namenode) must find them free, and a port from the ephemeral range can be
   * taken meanwhile by any outgoing connection or port-0 bind on the machine (seen:
   * "Port in use" on restart while other tests ran).
   */
  static final class PortSource {
    static final int LOWEST = 10000;
    final List<Integer> fixed;
    final Set<Integer> used = new HashSet<>();
    final java.util.Random random = new java.util.Random();
    int next;

    PortSource(List<Integer> fixed) { this.fixed = fixed; }

    int next() throws IOException {
      if (next < fixed.size()) {
        int p = fixed.get(next++);
        used.add(p);
        return p;
      }
      int below = ephemeralLow();
      InetAddress loopback = InetAddress.getByName("127.0.0.1");
      for (int attempt = 0; attempt < 200 && below - LOWEST > 1000; attempt++) {
        int p = LOWEST + random.nextInt(below - LOWEST);
        if (used.contains(p)) continue;
        try (ServerSocket s = new ServerSocket(p, 1, loopback)) {
          used.add(p);
          return p;
        } catch (IOException taken) {
          // in use: try another
        }
      }
      for (int attempt = 0; attempt < 50; attempt++) {
        try (ServerSocket s = new ServerSocket(0, 1, loopback)) {
          int p = s.getLocalPort();
          if (used.add(p)) return p;
        }
      }
      throw new IOException("no free port");
    }

    /** The first port of net.ipv4.ip_local_port_range (32768 when it cannot be read). */
    static int ephemeralLow() {
      try {
        String range = new String(Files.readAllBytes(
            java.nio.file.Paths.get("/proc/sys/net/ipv4/ip_local_port_range")),
            StandardCharsets.US_ASCII).trim();
        return Integer.parseInt(range.split("\\s+")[0]);
      } catch (IOException | RuntimeException e) {
        return 32768;
      }
    }
  }
}
