package dev.movies.es;

import org.elasticsearch.bootstrap.BootstrapCheck;
import org.elasticsearch.bootstrap.BootstrapContext;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.transport.BoundTransportAddress;
import org.elasticsearch.env.Environment;
import org.elasticsearch.logging.LogManager;
import org.elasticsearch.logging.Logger;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts a real Elasticsearch {@link Node} in this JVM.
 *
 * This is what {@code org.elasticsearch.bootstrap.Elasticsearch} does, minus the parts that need the official
 * distribution (the CLI launcher that feeds settings over stdin, the keystore, the entitlement agent, native
 * system-call filters and the "can not run as root" check). Modules (transport-netty4 and our analysis plugin) are
 * loaded by the server's own {@link PluginsLoader} from {@code $path.home/modules}, exactly as in the distribution.
 *
 * Usage: {@code java ... dev.movies.es.EsMain -Epath.home=... -Ekey=value ...}
 */
public final class EsMain {

    private static final CountDownLatch KEEP_ALIVE = new CountDownLatch(1);

    public static void main(String[] args) throws Exception {
        Settings.Builder input = Settings.builder();
        for (String arg : args) {
            if (arg.startsWith("-E") == false || arg.indexOf('=') < 0) {
                System.err.println("unsupported argument [" + arg + "], expected -Ekey=value");
                System.exit(64);
            }
            String kv = arg.substring(2);
            int eq = kv.indexOf('=');
            input.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        Settings settings = input.build();
        if (settings.get("path.home") == null) {
            System.err.println("-Epath.home=... is required");
            System.exit(64);
        }

        LogConfigurator.registerErrorListener();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "movies-node");
        Files.createDirectories(env.logsDir());
        Files.createDirectories(env.pluginsDir());
        LogConfigurator.setClusterName(ClusterName.CLUSTER_NAME_SETTING.get(env.settings()).value());
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);

        Logger logger = LogManager.getLogger(EsMain.class);
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            logger.error("uncaught exception in thread [" + t.getName() + "]", e);
            if (e instanceof Error) {
                Runtime.getRuntime().halt(1);
            }
        });
        logger.info(
            "starting node: java [{}] home [{}] pid [{}]",
            Runtime.version(),
            System.getProperty("java.home"),
            ProcessHandle.current().pid()
        );

        final Node node;
        try {
            var modules = PluginsLoader.loadModulesBundles(env.modulesDir());
            var plugins = PluginsLoader.loadPluginsBundles(env.pluginsDir());
            PluginsLoader pluginsLoader = PluginsLoader.createPluginsLoader(modules, plugins, Map.of(), false);
            node = new Node(env, pluginsLoader) {
                @Override
                protected void validateNodeBeforeAcceptingRequests(
                    BootstrapContext context,
                    BoundTransportAddress boundTransportAddress,
                    List<BootstrapCheck> checks
                ) {
                    // development node bound to loopback: production bootstrap checks do not apply
                }
            };
        } catch (Throwable t) {
            logger.error("node failed to initialize", t);
            Runtime.getRuntime().halt(1);
            return;
        }

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                logger.info("stopping node");
                node.prepareForClose();
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    logger.warn("node did not close within 20s");
                }
                logger.info("node stopped");
            } catch (Exception e) {
                logger.warn("failure while stopping node", e);
            } finally {
                KEEP_ALIVE.countDown();
                org.apache.logging.log4j.LogManager.shutdown();
            }
        }, "elasticsearch-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            logger.error("node failed to start", t);
            Runtime.getRuntime().halt(1);
        }

        Thread keepAlive = new Thread(() -> {
            try {
                KEEP_ALIVE.await();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "elasticsearch[keepAlive]");
        keepAlive.setDaemon(false);
        keepAlive.start();
    }
}
