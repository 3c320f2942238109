package org.apache.hadoop.fs.http.server;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;

/**
 * The launcher's --httpfs option: Hadoop's HttpFS gateway (the WebHDFS REST API served by
 * a proxy that reaches HDFS over RPC) embedded in the launcher's JVM on a loopback port.
 * In HttpFS's own package because its server's constructor is package-private (the
 * launcher's tests construct it the same way). It calls the cluster as the launcher's user,
 * impersonating each request's user.name: the cluster needs hadoop.proxyuser.USER.* set.
 */
public final class HttpFsGateway {
  private final HttpFSServerWebServer server;

  /**
   * {@code home}: the gateway's own folder (conf, logs, temp); {@code hadoopConfDir}: the
   * client config of the cluster it serves; {@code sslServer}: its keystore keys
   * ({@code ssl.server.keystore.*}) to serve HTTPS only ({@code httpfs.ssl.enabled}), or
   * null for plain HTTP.
   */
  public HttpFsGateway(File home, File hadoopConfDir, int port, Map<String, String> siteXml,
      Configuration sslServer) throws Exception {
    File conf = new File(home, "conf");
    for (String sub : new String[] {"conf", "logs", "temp"}) {
      Files.createDirectories(new File(home, sub).toPath());
    }
    // HttpFS finds its folders through system properties (its start script sets them).
    System.setProperty("httpfs.home.dir", home.getPath());
    System.setProperty("httpfs.config.dir", conf.getPath());
    System.setProperty("httpfs.log.dir", new File(home, "logs").getPath());
    System.setProperty("httpfs.temp.dir", new File(home, "temp").getPath());
    File secret = new File(conf, "httpfs-signature.secret");
    Files.write(secret.toPath(), ("secret-" + System.nanoTime()).getBytes(StandardCharsets.UTF_8));
    siteXml.put("httpfs.hadoop.config.dir", hadoopConfDir.getPath());
    broker.minicluster.MiniCluster.writeXml(new File(conf, "httpfs-site.xml"), siteXml);

    Configuration web = new Configuration(false);
    web.set(HttpFSServerWebServer.HTTP_HOSTNAME_KEY, "127.0.0.1");
    web.setInt(HttpFSServerWebServer.HTTP_PORT_KEY, port);
    web.set("hadoop.http.authentication.signature.secret.file", secret.getPath());
    web.setBoolean(HttpFSServerWebServer.SSL_ENABLED_KEY, sslServer != null);
    server = new HttpFSServerWebServer(web,
        sslServer != null ? sslServer : new Configuration(false));
  }

  public void start() throws IOException {
    server.start();
  }

  public void stop() {
    try {
      server.stop();
    } catch (Exception e) {
      e.printStackTrace();
    }
  }
}
