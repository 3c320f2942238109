package broker.minicluster;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;

/**
 * The --https option: HTTPS only on the namenode and datanode web ports (WebHDFS as
 * swebhdfs://) and on the HttpFS gateway's (--httpfs), with a self-signed certificate for 127.0.0.1 and localhost made by keytool
 * at start into WORKDIR/tls (never kept: a start makes a new one, with a new password).
 * Hadoop's servers read their keystore from ssl-server.xml, a classpath resource: run.sh
 * puts WORKDIR/tls on the classpath. For clients: the certificate as PEM and a PKCS12
 * truststore holding it (facts tls.*).
 */
final class TlsSetup {
  final File dir;
  final String password;

  TlsSetup(File workDir) {
    this.dir = new File(workDir, "tls");
    byte[] random = new byte[12];
    new SecureRandom().nextBytes(random);
    this.password = "tls-" + HexFormat.of().formatHex(random);
  }

  File keystore() { return new File(dir, "server.p12"); }
  File certPem() { return new File(dir, "ca.pem"); }
  File truststore() { return new File(dir, "truststore.p12"); }

  /** The server's key and certificate, its PEM, a truststore; then ssl-server.xml. */
  void generate() throws IOException, InterruptedException {
    Files.createDirectories(dir.toPath());
    for (File f : new File[] {keystore(), certPem(), truststore()}) {
      Files.deleteIfExists(f.toPath());
    }
    keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
        "-validity", "30", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
        "-storetype", "PKCS12", "-keystore", keystore().getPath(),
        "-storepass", password, "-keypass", password);
    keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", keystore().getPath(),
        "-storepass", password, "-file", certPem().getPath());
    keytool("-importcert", "-noprompt", "-alias", "ca", "-file", certPem().getPath(),
        "-storetype", "PKCS12", "-keystore", truststore().getPath(), "-storepass", password);
    Map<String, String> ssl = new LinkedHashMap<>();
    ssl.put("ssl.server.keystore.location", keystore().getPath());
    ssl.put("ssl.server.keystore.type", "pkcs12");
    ssl.put("ssl.server.keystore.password", password);
    ssl.put("ssl.server.keystore.keypassword", password);
    MiniCluster.writeXml(new File(dir, "ssl-server.xml"), ssl);
  }

  static void keytool(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(new File(System.getProperty("java.home"), "bin/keytool").getPath());
    cmd.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("keytool " + args[0] + " failed: " + output.trim());
    }
  }

  /** HTTPS only (the namenodes' HTTPS ports are set by the launcher, per namenode). */
  void serverConf(Configuration conf) {
    conf.set("dfs.http.policy", "HTTPS_ONLY");
    conf.set("dfs.datanode.https.address", "127.0.0.1:0");
  }

  /** HttpFS's ssl-server keys (its Jetty reads them as the namenode's do): the same key. */
  Configuration httpfsSslConf() {
    Configuration ssl = new Configuration(false);
    ssl.set("ssl.server.keystore.location", keystore().getPath());
    ssl.set("ssl.server.keystore.type", "pkcs12");
    ssl.set("ssl.server.keystore.password", password);
    ssl.set("ssl.server.keystore.keypassword", password);
    return ssl;
  }

  Map<String, String> facts() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("tls.ca_pem", certPem().getPath());
    m.put("tls.truststore", truststore().getPath());
    m.put("tls.truststore_password", password);
    return m;
  }
}
