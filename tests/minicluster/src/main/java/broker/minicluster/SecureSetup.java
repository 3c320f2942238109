package broker.minicluster;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.minikdc.MiniKdc;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * The Kerberos half of the {@code secure} shape: Hadoop's MiniKdc on 127.0.0.1, the service
 * principal of the namenode and datanodes, two user principals with their own keytabs, a
 * krb5.conf for native (MIT) clients, and the server keys of a secure HDFS whose datanodes
 * need neither root nor privileged ports (SASL data-transfer protection with block access
 * tokens, which hdfs-native speaks).
 */
final class SecureSetup {
  /** Short names of the user principals; each gets {@code /NAME} owned by it, mode 0700. */
  static final String[] USERS = {"alice", "bob"};
  /** Has a keytab but is not in the KDC. */
  static final String UNKNOWN = "ghost";
  /** In the KDC, but its keytab holds keys the KDC replaced. */
  static final String STALE = "stale";
  /** Service principal of namenode and datanodes: the short name "hdfs" is the superuser. */
  static final String SERVICE_HOST = "localhost";

  final File dir;
  final long ticketLifetimeSeconds;
  MiniKdc kdc;
  File serviceKeytab;
  File krb5Conf;

  /** --spnego: the web ports (WebHDFS) require Kerberos too. */
  boolean spnego;

  SecureSetup(File workDir, long ticketLifetimeSeconds) {
    this.dir = new File(workDir, "kerberos");
    this.ticketLifetimeSeconds = ticketLifetimeSeconds;
  }

  String realm() { return kdc.getRealm(); }

  String servicePrincipal() { return "hdfs/" + SERVICE_HOST + "@" + realm(); }

  String httpPrincipal() { return "HTTP/" + SERVICE_HOST + "@" + realm(); }

  String userPrincipal(String user) { return user + "@" + realm(); }

  File userKeytab(String user) { return new File(dir, user + ".keytab"); }

  /** Starts the KDC, creates every principal and keytab, writes krb5.conf. */
  void start() throws Exception {
    org.apache.hadoop.fs.FileUtil.fullyDelete(dir);
    Files.createDirectories(dir.toPath());
    Properties p = MiniKdc.createConf();
    p.setProperty(MiniKdc.KDC_BIND_ADDRESS, "127.0.0.1");
    p.setProperty(MiniKdc.KDC_PORT, "0");
    // Seconds (Kerby reads these as seconds, whatever MiniKdc's defaults suggest). A short
    // maximum lets the tests outlive a ticket; the minimum must stay below it or the KDC
    // refuses every request as "never valid".
    p.setProperty(MiniKdc.MAX_TICKET_LIFETIME, String.valueOf(ticketLifetimeSeconds));
    p.setProperty(MiniKdc.MIN_TICKET_LIFETIME, "1");
    p.setProperty(MiniKdc.MAX_RENEWABLE_LIFETIME, String.valueOf(ticketLifetimeSeconds * 2));
    kdc = new MiniKdc(p, dir);
    kdc.start();

    serviceKeytab = new File(dir, "hdfs.keytab");
    kdc.createPrincipal(serviceKeytab, "hdfs/" + SERVICE_HOST, "HTTP/" + SERVICE_HOST);
    for (String user : USERS) {
      kdc.createPrincipal(userKeytab(user), user);
    }
    // Keytabs that cannot log in: one whose principal the KDC no longer knows, one whose
    // keys the KDC has since replaced. (MiniKdc keeps its Kerby server private.)
    java.lang.reflect.Field f = MiniKdc.class.getDeclaredField("simpleKdc");
    f.setAccessible(true);
    org.apache.kerby.kerberos.kerb.server.SimpleKdcServer kerby =
        (org.apache.kerby.kerberos.kerb.server.SimpleKdcServer) f.get(kdc);
    kdc.createPrincipal(userKeytab(UNKNOWN), UNKNOWN);
    kerby.deletePrincipal(userPrincipal(UNKNOWN));
    kdc.createPrincipal(userKeytab(STALE), STALE);
    kerby.deletePrincipal(userPrincipal(STALE));
    kerby.createPrincipal(userPrincipal(STALE));
    krb5Conf = new File(dir, "krb5.conf");
    MiniCluster.writeAtomically(krb5Conf, krb5ConfText());
  }

  /**
   * For MIT clients (the broker): only 127.0.0.1, over TCP (udp_preference_limit = 1: the
   * KDC listens on TCP only), and no DNS at all, so "hdfs@localhost" means hdfs/localhost@REALM as the namenode says.
   */
  String krb5ConfText() {
    String kdcAddr = "127.0.0.1:" + kdc.getPort();
    return "# Written by tests/minicluster for its MiniKdc.\n"
        + "[libdefaults]\n"
        + "    default_realm = " + realm() + "\n"
        + "    dns_lookup_kdc = false\n"
        + "    dns_lookup_realm = false\n"
        + "    dns_canonicalize_hostname = false\n"
        + "    rdns = false\n"
        + "    udp_preference_limit = 1\n"
        + "    forwardable = true\n"
        + "[realms]\n"
        + "    " + realm() + " = {\n"
        + "        kdc = " + kdcAddr + "\n"
        + "    }\n"
        + "[domain_realm]\n"
        + "    localhost = " + realm() + "\n";
  }

  /** The server keys of a Kerberos-secured namenode and datanodes. */
  void secureServerConf(Configuration conf) {
    conf.set("hadoop.security.authentication", "kerberos");
    conf.setBoolean("hadoop.security.authorization", false);
    conf.set("hadoop.rpc.protection", "authentication");
    conf.setBoolean("dfs.block.access.token.enable", true);
    // Datanodes on ordinary ports: SASL on data transfer (the block token authenticates the
    // client there) instead of root-only ports; the testing switch skips the HTTPS-only check.
    conf.set("dfs.data.transfer.protection", "authentication");
    conf.setBoolean("ignore.secure.ports.for.testing", true);
    conf.set("dfs.namenode.kerberos.principal", servicePrincipal());
    conf.set("dfs.namenode.keytab.file", serviceKeytab.getPath());
    conf.set("dfs.datanode.kerberos.principal", servicePrincipal());
    conf.set("dfs.datanode.keytab.file", serviceKeytab.getPath());
    conf.set("dfs.namenode.kerberos.internal.spnego.principal", httpPrincipal());
    conf.set("dfs.web.authentication.kerberos.principal", httpPrincipal());
    conf.set("dfs.web.authentication.kerberos.keytab", serviceKeytab.getPath());
    // Tickets may be short-lived here: let the servers log in again without a pause.
    conf.setLong("hadoop.kerberos.min.seconds.before.relogin", 1);
    if (spnego) {
      // The web ports' authentication filter (AuthFilterInitializer reads these): SPNEGO
      // instead of simple user.name.
      conf.set("hadoop.http.authentication.type", "kerberos");
      conf.set("hadoop.http.authentication.kerberos.principal", httpPrincipal());
      conf.set("hadoop.http.authentication.kerberos.keytab", serviceKeytab.getPath());
    }
  }

  /** Logs this JVM in as the service principal, which the namenode's superuser is. */
  void loginAsService(Configuration conf) throws IOException {
    UserGroupInformation.setConfiguration(conf);
    UserGroupInformation.loginUserFromKeytab(servicePrincipal(), serviceKeytab.getPath());
  }

  /** Client keys a Kerberos client of this cluster needs. */
  Map<String, String> clientKeys() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("dfs.namenode.kerberos.principal", servicePrincipal());
    m.put("dfs.data.transfer.protection", "authentication");
    return m;
  }

  /** Facts for cluster.properties, under {@code kerberos.}. */
  Map<String, String> facts() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("kerberos.realm", realm());
    m.put("kerberos.kdc", "127.0.0.1:" + kdc.getPort());
    m.put("kerberos.krb5_conf", krb5Conf.getPath());
    m.put("kerberos.ticket_lifetime_seconds", String.valueOf(ticketLifetimeSeconds));
    m.put("kerberos.namenode_principal", servicePrincipal());
    m.put("kerberos.service_keytab", serviceKeytab.getPath());
    m.put("kerberos.users", String.join(",", USERS));
    for (String user : USERS) {
      m.put("kerberos.user." + user + ".principal", userPrincipal(user));
      m.put("kerberos.user." + user + ".keytab", userKeytab(user).getPath());
      m.put("kerberos.user." + user + ".home", "/" + user);
    }
    for (String user : new String[] {UNKNOWN, STALE}) {
      m.put("kerberos.user." + user + ".principal", userPrincipal(user));
      m.put("kerberos.user." + user + ".keytab", userKeytab(user).getPath());
    }
    return m;
  }

  void stop() {
    if (kdc != null) kdc.stop();
  }
}
