// CuratorCheck runs Apache Curator 5.4 recipes against a ZooKeeper server
// (Apache ZooKeeper or zkd) and prints one line per check:
//
//   PASS <check> <millis>ms
//   FAIL <check> <reason>
//
// It exits 0 only if every check passes. Usage:
//
//   java -cp <classpath> CuratorCheck <connectString> [check ...]
//
// With no check names every check runs. The server must run with
// -Dzookeeper.extendedTypesEnabled=true (TTL nodes) and a short
// -Dznode.container.checkIntervalMs (containers and TTL nodes are deleted
// by the server's container manager).
//
// Compiled and run by integration/curator_test.go with javac and java
// against the Debian packages' jars (no Maven).

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class CuratorCheck {
    /** Per-check time limit; the Go test bounds the whole run too. */
    static final long CHECK_TIMEOUT_MS = 30_000;

    interface Check {
        void run() throws Exception;
    }

    static String connect;
    static final List<CuratorFramework> clients = Collections.synchronizedList(new ArrayList<>());

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CuratorCheck <connectString> [check ...]");
            System.exit(2);
        }
        connect = args[0];
        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("InterProcessMutex", CuratorCheck::mutex);
        checks.put("InterProcessSemaphoreV2", CuratorCheck::semaphore);
        checks.put("LeaderLatch", CuratorCheck::leaderLatch);
        checks.put("LeaderSelector", CuratorCheck::leaderSelector);
        checks.put("CuratorCache", CuratorCheck::curatorCache);
        checks.put("DistributedAtomicLong", CuratorCheck::atomicLong);
        checks.put("DistributedBarrier", CuratorCheck::barrier);
        checks.put("PersistentNodeEphemeral", CuratorCheck::persistentNode);
        checks.put("TTLNode", CuratorCheck::ttlNode);
        checks.put("ContainerNode", CuratorCheck::containerNode);
        checks.put("ExtendedTypeStat", CuratorCheck::extendedStat);
        checks.put("WatchesAcrossReconnect", CuratorCheck::reconnectWatches);
        checks.put("DigestACL", CuratorCheck::digestACL);

        List<String> names = args.length > 1
                ? Arrays.asList(args).subList(1, args.length)
                : new ArrayList<>(checks.keySet());
        boolean ok = true;
        for (String name : names) {
            Check c = checks.get(name);
            if (c == null) {
                System.out.println("FAIL " + name + " unknown check");
                ok = false;
                continue;
            }
            ok &= runCheck(name, c);
        }
        System.out.flush();
        // Curator and ZooKeeper leave non-daemon threads behind on failure.
        System.exit(ok ? 0 : 1);
    }

    static boolean runCheck(String name, Check c) {
        long start = System.nanoTime();
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "check-" + name);
            t.setDaemon(true);
            return t;
        });
        Future<?> f = ex.submit(() -> {
            c.run();
            return null;
        });
        String failure = null;
        try {
            f.get(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            failure = "timed out after " + CHECK_TIMEOUT_MS + "ms";
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            failure = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        } catch (InterruptedException e) {
            failure = "interrupted";
        } finally {
            ex.shutdownNow();
            closeClients();
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (failure == null) {
            System.out.println("PASS " + name + " " + ms + "ms");
        } else {
            System.out.println("FAIL " + name + " " + failure.replace('\n', ' '));
        }
        System.out.flush();
        return failure == null;
    }

    // ---- helpers ----

    static CuratorFramework client() throws Exception {
        return client(null);
    }

    static CuratorFramework client(String digest) throws Exception {
        return client(connect, digest);
    }

    static CuratorFramework client(String connectString, String digest) throws Exception {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs(6000)
                .connectionTimeoutMs(5000)
                .retryPolicy(new ExponentialBackoffRetry(50, 10, 500));
        if (digest != null) {
            b.authorization("digest", digest.getBytes(StandardCharsets.UTF_8));
        }
        CuratorFramework c = b.build();
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected(10, TimeUnit.SECONDS)) {
            throw new AssertionError("client did not connect within 10s");
        }
        return c;
    }

    static void closeClients() {
        synchronized (clients) {
            for (CuratorFramework c : clients) {
                try {
                    c.close();
                } catch (Exception e) {
                    // best effort
                }
            }
            clients.clear();
        }
    }

    static void check(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    interface Cond {
        boolean ok() throws Exception;
    }

    /** Polls cond every 20ms until it holds or ms pass. */
    static void eventually(long ms, String what, Cond cond) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        while (!cond.ok()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError(what + " (not within " + ms + "ms)");
            }
            Thread.sleep(20);
        }
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static <T> List<T> runAll(List<Callable<T>> tasks, long ms) throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(tasks.size());
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (Callable<T> t : tasks) {
                fs.add(ex.submit(t));
            }
            List<T> out = new ArrayList<>();
            long deadline = System.currentTimeMillis() + ms;
            for (Future<T> f : fs) {
                long left = Math.max(1, deadline - System.currentTimeMillis());
                try {
                    out.add(f.get(left, TimeUnit.MILLISECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Exception) {
                        throw (Exception) e.getCause();
                    }
                    throw e;
                }
            }
            return out;
        } finally {
            ex.shutdownNow();
        }
    }

    // ---- checks ----

    /** Two clients contend for one lock: never two holders; the lock is reentrant. */
    static void mutex() throws Exception {
        CuratorFramework a = client(), bc = client();
        String path = "/curator/mutex";
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        List<Callable<Void>> tasks = new ArrayList<>();
        for (CuratorFramework c : new CuratorFramework[] {a, bc}) {
            for (int t = 0; t < 2; t++) {
                InterProcessMutex m = new InterProcessMutex(c, path);
                tasks.add(() -> {
                    for (int i = 0; i < 5; i++) {
                        check(m.acquire(10, TimeUnit.SECONDS), "acquire timed out");
                        try {
                            int n = inside.incrementAndGet();
                            maxInside.accumulateAndGet(n, Math::max);
                            acquisitions.incrementAndGet();
                            Thread.sleep(5);
                            inside.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                    return null;
                });
            }
        }
        runAll(tasks, 25_000);
        check(maxInside.get() == 1, "mutual exclusion violated: " + maxInside.get() + " holders at once");
        check(acquisitions.get() == 20, "acquisitions " + acquisitions.get() + ", want 20");

        // Reentrancy: the holder acquires again; the other client cannot get it
        // until both holds are released.
        InterProcessMutex ma = new InterProcessMutex(a, path);
        InterProcessMutex mb = new InterProcessMutex(bc, path);
        check(ma.acquire(5, TimeUnit.SECONDS), "first acquire");
        check(ma.acquire(5, TimeUnit.SECONDS), "reentrant acquire");
        check(ma.isOwnedByCurrentThread(), "not owned after acquire");
        check(a.getChildren().forPath(path).size() == 1, "a reentrant acquire created a second lock node");
        check(!mb.acquire(300, TimeUnit.MILLISECONDS), "other client acquired a held lock");
        ma.release();
        check(ma.isOwnedByCurrentThread(), "released after one of two releases");
        check(!mb.acquire(300, TimeUnit.MILLISECONDS), "other client acquired a lock still held once");
        ma.release();
        check(!ma.isOwnedByCurrentThread(), "still owned after two releases");
        check(mb.acquire(5, TimeUnit.SECONDS), "other client could not acquire a released lock");
        mb.release();
        // The lock's parent is a container: once empty, the container
        // manager may delete it, which leaves no lock node either.
        eventually(5000, "lock nodes left behind", () -> {
            try {
                return a.getChildren().forPath(path).isEmpty();
            } catch (KeeperException.NoNodeException e) {
                return true;
            }
        });
    }

    /** At most maxLeases holders at once; an extra acquire times out while all are held. */
    static void semaphore() throws Exception {
        CuratorFramework a = client(), bc = client();
        String path = "/curator/semaphore";
        InterProcessSemaphoreV2 sa = new InterProcessSemaphoreV2(a, path, 2);
        InterProcessSemaphoreV2 sb = new InterProcessSemaphoreV2(bc, path, 2);
        Lease l1 = sa.acquire(5, TimeUnit.SECONDS);
        Lease l2 = sb.acquire(5, TimeUnit.SECONDS);
        check(l1 != null && l2 != null, "could not get two leases of two");
        check(sb.acquire(300, TimeUnit.MILLISECONDS) == null, "got a third lease of two");
        sa.returnLease(l1);
        Lease l3 = sb.acquire(5, TimeUnit.SECONDS);
        check(l3 != null, "no lease after one was returned");
        sb.returnLease(l2);
        sb.returnLease(l3);

        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(t % 2 == 0 ? a : bc, path, 2);
            tasks.add(() -> {
                for (int i = 0; i < 4; i++) {
                    Lease l = sem.acquire(10, TimeUnit.SECONDS);
                    check(l != null, "acquire timed out");
                    try {
                        maxHolders.accumulateAndGet(holders.incrementAndGet(), Math::max);
                        Thread.sleep(20);
                        holders.decrementAndGet();
                    } finally {
                        sem.returnLease(l);
                    }
                }
                return null;
            });
        }
        runAll(tasks, 25_000);
        check(maxHolders.get() <= 2, "lease bound violated: " + maxHolders.get() + " holders of 2");
        check(maxHolders.get() == 2, "never two holders at once (max " + maxHolders.get() + ")");
    }

    /** Exactly one of three latches leads; when it closes, one of the others takes over. */
    static void leaderLatch() throws Exception {
        String path = "/curator/latch";
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch l = new LeaderLatch(client(), path, "p" + i);
            latches.add(l);
            l.start();
        }
        eventually(30_000, "three participants", () -> latches.get(0).getParticipants().size() == 3);
        LeaderLatch leader = oneLeader(latches);
        String leaderId = leader.getId();
        for (LeaderLatch l : latches) {
            check(l.getLeader().getId().equals(leaderId),
                    l.getId() + " sees leader " + l.getLeader().getId() + ", want " + leaderId);
        }
        leader.close();
        latches.remove(leader);
        LeaderLatch next = oneLeader(latches);
        check(!next.getId().equals(leaderId), "leadership did not move");
        for (LeaderLatch l : latches) {
            eventually(5000, l.getId() + " does not see the new leader",
                    () -> l.getLeader().getId().equals(next.getId()));
        }
        for (LeaderLatch l : latches) {
            l.close();
        }
    }

    /** Waits for exactly one leader among latches, stable for 300ms. */
    static LeaderLatch oneLeader(List<LeaderLatch> latches) throws Exception {
        AtomicReference<LeaderLatch> found = new AtomicReference<>();
        eventually(30_000, "no single leader", () -> {
            LeaderLatch only = null;
            int n = 0;
            for (LeaderLatch l : latches) {
                if (l.hasLeadership()) {
                    n++;
                    only = l;
                }
            }
            check(n <= 1, n + " leaders at once");
            found.set(only);
            return n == 1;
        });
        for (int i = 0; i < 15; i++) {
            Thread.sleep(20);
            int n = 0;
            for (LeaderLatch l : latches) {
                n += l.hasLeadership() ? 1 : 0;
            }
            check(n == 1 && found.get().hasLeadership(), "leadership not stable: " + n + " leaders");
        }
        return found.get();
    }

    /** Three requeueing selectors: leadership is never held twice and goes round. */
    static void leaderSelector() throws Exception {
        String path = "/curator/selector";
        AtomicInteger active = new AtomicInteger();
        AtomicInteger maxActive = new AtomicInteger();
        AtomicInteger terms = new AtomicInteger();
        Set<String> leaders = ConcurrentHashMap.newKeySet();
        List<LeaderSelector> selectors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = "s" + i;
            LeaderSelector sel = new LeaderSelector(client(), path, new LeaderSelectorListenerAdapter() {
                @Override
                public void takeLeadership(CuratorFramework c) throws Exception {
                    maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
                    try {
                        leaders.add(id);
                        terms.incrementAndGet();
                        Thread.sleep(50);
                    } finally {
                        active.decrementAndGet();
                    }
                }
            });
            sel.setId(id);
            sel.autoRequeue();
            selectors.add(sel);
        }
        for (LeaderSelector sel : selectors) {
            sel.start();
        }
        eventually(15_000, "fewer than 9 leadership terms (" + terms.get() + ") or not all selectors led "
                + leaders, () -> terms.get() >= 9 && leaders.size() == 3);
        for (LeaderSelector sel : selectors) {
            sel.close();
        }
        check(maxActive.get() == 1, maxActive.get() + " leaders at once");
    }

    /** CuratorCache loads existing nodes, then follows creates, changes and deletes (addWatch). */
    static void curatorCache() throws Exception {
        CuratorFramework c = client();
        String root = "/curator/cache";
        c.create().creatingParentsIfNeeded().forPath(root + "/a", b("1"));
        c.create().creatingParentsIfNeeded().forPath(root + "/b/c", b("deep"));
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(c, root);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> events.add("create " + n.getPath() + " " + s(n.getData())))
                .forChanges((o, n) -> events.add("change " + n.getPath() + " " + s(o.getData()) + "->" + s(n.getData())))
                .forDeletes(o -> events.add("delete " + o.getPath()))
                .forInitialized(() -> {
                    events.add("initialized");
                    initialized.countDown();
                })
                .build());
        cache.start();
        try {
            check(initialized.await(10, TimeUnit.SECONDS), "cache not initialized");
            Set<String> initial = new HashSet<>();
            for (String e; !(e = events.take()).equals("initialized");) {
                initial.add(e);
            }
            Set<String> wantInitial = new HashSet<>(Arrays.asList(
                    "create " + root + " ", "create " + root + "/a 1", "create " + root + "/b ",
                    "create " + root + "/b/c deep"));
            // The root and /b are created with Curator's default data (the
            // client's IP address); compare only paths for those.
            Set<String> initialPaths = new HashSet<>();
            for (String e : initial) {
                initialPaths.add(e.split(" ")[1]);
            }
            check(initialPaths.equals(new HashSet<>(Arrays.asList(root, root + "/a", root + "/b", root + "/b/c"))),
                    "initial events " + initial);
            check(initial.contains("create " + root + "/a 1") && initial.contains("create " + root + "/b/c deep"),
                    "initial data " + initial + ", want " + wantInitial);
            Optional<ChildData> a = cache.get(root + "/a");
            check(a.isPresent() && "1".equals(s(a.get().getData())), "cache.get(/a) = " + a);

            c.create().forPath(root + "/new", b("x"));
            expect(events, "create " + root + "/new x");
            c.setData().forPath(root + "/a", b("2"));
            expect(events, "change " + root + "/a 1->2");
            c.create().forPath(root + "/b/c/d", b("deeper"));
            expect(events, "create " + root + "/b/c/d deeper");
            c.delete().forPath(root + "/b/c/d");
            expect(events, "delete " + root + "/b/c/d");
            c.delete().forPath(root + "/new");
            expect(events, "delete " + root + "/new");
            check(!cache.get(root + "/new").isPresent(), "deleted node still in cache");
            check(cache.size() == 4, "cache size " + cache.size() + ", want 4");
        } finally {
            cache.close();
        }
    }

    static void expect(BlockingQueue<String> events, String want) throws Exception {
        String got = events.poll(5, TimeUnit.SECONDS);
        check(want.equals(got), "event " + got + ", want " + want);
    }

    /** Concurrent increments from two clients all count. */
    static void atomicLong() throws Exception {
        CuratorFramework a = client(), bc = client();
        String path = "/curator/counter";
        AtomicInteger retries = new AtomicInteger();
        List<Callable<Integer>> tasks = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            DistributedAtomicLong counter = new DistributedAtomicLong(t % 2 == 0 ? a : bc, path,
                    new RetryNTimes(20, 5));
            tasks.add(() -> {
                int ok = 0;
                for (int i = 0; i < 20; i++) {
                    AtomicValue<Long> v = counter.increment();
                    while (!v.succeeded()) {
                        retries.incrementAndGet();
                        v = counter.increment();
                    }
                    check(v.postValue() == v.preValue() + 1, "post " + v.postValue() + " pre " + v.preValue());
                    ok++;
                }
                return ok;
            });
        }
        int sum = 0;
        for (int n : runAll(tasks, 25_000)) {
            sum += n;
        }
        AtomicValue<Long> v = new DistributedAtomicLong(a, path, new RetryNTimes(3, 10)).get();
        check(v.succeeded(), "get did not succeed");
        check(v.postValue() == sum && sum == 120, "counter " + v.postValue() + ", want " + sum + " (120)");
    }

    /** Waiters block while the barrier is set and all pass when it is removed. */
    static void barrier() throws Exception {
        CuratorFramework a = client(), bc = client();
        String path = "/curator/barrier";
        DistributedBarrier setter = new DistributedBarrier(a, path);
        setter.setBarrier();
        AtomicInteger passed = new AtomicInteger();
        List<Callable<Boolean>> tasks = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            DistributedBarrier w = new DistributedBarrier(t % 2 == 0 ? a : bc, path);
            tasks.add(() -> {
                boolean ok = w.waitOnBarrier(15, TimeUnit.SECONDS);
                passed.incrementAndGet();
                return ok;
            });
        }
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<List<Boolean>> f = ex.submit(() -> runAll(tasks, 20_000));
            Thread.sleep(500);
            check(passed.get() == 0, passed.get() + " waiters passed a set barrier");
            setter.removeBarrier();
            List<Boolean> res = f.get(10, TimeUnit.SECONDS);
            check(!res.contains(false), "a waiter timed out after the barrier was removed: " + res);
        } finally {
            ex.shutdownNow();
        }
        check(a.checkExists().forPath(path) == null, "barrier node still exists");
    }

    /**
     * An EPHEMERAL PersistentNode is recreated in the new session after the
     * owning session is expired: a second handle attaches to the session (the
     * server drops the first connection) and closes it, as Curator's own
     * tests kill sessions.
     */
    static void persistentNode() throws Exception {
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath("/curator/pn");
        String path = "/curator/pn/node";
        BlockingQueue<ConnectionState> states = new LinkedBlockingQueue<>();
        c.getConnectionStateListenable().addListener((cl, st) -> states.add(st));
        PersistentNode node = new PersistentNode(c, CreateMode.EPHEMERAL, false, path, b("mine"));
        node.start();
        try {
            check(node.waitForInitialCreate(10, TimeUnit.SECONDS), "initial create");
            ZooKeeper zk = c.getZookeeperClient().getZooKeeper();
            long sid = zk.getSessionId();
            Stat st = c.checkExists().forPath(path);
            check(st != null && st.getEphemeralOwner() == sid,
                    "owner " + (st == null ? "none" : Long.toHexString(st.getEphemeralOwner())) + ", want "
                            + Long.toHexString(sid));

            CountDownLatch attached = new CountDownLatch(1);
            ZooKeeper dup = new ZooKeeper(connect, 6000, e -> {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    attached.countDown();
                }
            }, sid, zk.getSessionPasswd());
            try {
                check(attached.await(10, TimeUnit.SECONDS), "second handle did not attach to the session");
                check(dup.getSessionId() == sid, "second handle got another session");
            } finally {
                dup.close(); // closes the session: its ephemeral node goes
            }

            long deadline = System.currentTimeMillis() + 15_000;
            boolean lost = false;
            while (!lost && System.currentTimeMillis() < deadline) {
                ConnectionState s = states.poll(100, TimeUnit.MILLISECONDS);
                lost = s == ConnectionState.LOST;
            }
            check(lost, "the client never saw its session expire (LOST)");
            eventually(15_000, "node not recreated by a new session", () -> {
                Stat s2 = c.checkExists().forPath(path);
                long now = c.getZookeeperClient().getZooKeeper().getSessionId();
                return s2 != null && now != sid && s2.getEphemeralOwner() == now;
            });
            check("mine".equals(s(c.getData().forPath(path))), "recreated node has other data");
        } finally {
            node.close();
        }
        eventually(5000, "node left after close", () -> c.checkExists().forPath(path) == null);
    }

    /** A PERSISTENT_WITH_TTL node is deleted by the server after its TTL. */
    static void ttlNode() throws Exception {
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath("/curator/ttl");
        String path = "/curator/ttl/node";
        long created = System.currentTimeMillis();
        c.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(path, b("t"));
        Stat st = c.checkExists().forPath(path);
        check(st != null, "TTL node missing right after create");
        // A sequential TTL node and one with a child, which must survive.
        String seq = c.create().withTtl(1000).withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)
                .forPath("/curator/ttl/seq-", b("s"));
        check(seq.startsWith("/curator/ttl/seq-") && seq.length() == "/curator/ttl/seq-".length() + 10,
                "sequential TTL name " + seq);
        c.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/curator/ttl/parent");
        c.create().forPath("/curator/ttl/parent/child");
        Thread.sleep(300);
        check(c.checkExists().forPath(path) != null, "TTL node gone 300ms into a 1000ms TTL");
        eventually(30_000, "TTL node not deleted after its TTL",
                () -> c.checkExists().forPath(path) == null && c.checkExists().forPath(seq) == null);
        check(System.currentTimeMillis() - created >= 1000, "TTL node deleted before 1000ms");
        check(c.checkExists().forPath("/curator/ttl/parent") != null, "TTL node with a child was deleted");
        // TTL without the TTL mode is refused.
        try {
            c.create().withTtl(1000).withMode(CreateMode.PERSISTENT).forPath("/curator/ttl/bad");
            throw new AssertionError("TTL with PERSISTENT mode accepted");
        } catch (KeeperException.BadArgumentsException | IllegalArgumentException e) {
            // expected
        }
    }

    /** creatingParentContainersIfNeeded makes containers; they go after their last child. */
    static void containerNode() throws Exception {
        CuratorFramework c = client();
        String leaf = "/curator-cont/a/b/leaf";
        c.create().creatingParentContainersIfNeeded().forPath(leaf, b("x"));
        for (String p : new String[] {"/curator-cont", "/curator-cont/a", "/curator-cont/a/b"}) {
            check(c.checkExists().forPath(p) != null, p + " missing");
        }
        Stat leafStat = c.checkExists().forPath(leaf);
        check(leafStat.getEphemeralOwner() == 0, "leaf is not persistent");
        Thread.sleep(300);
        check(c.checkExists().forPath("/curator-cont/a/b") != null, "container with a child was deleted");
        c.delete().forPath(leaf);
        eventually(30_000, "emptied containers not deleted",
                () -> c.checkExists().forPath("/curator-cont") == null);
    }

    /**
     * The server keeps a container's marker (Long.MIN_VALUE) and a TTL node's
     * TTL in the node's ephemeralOwner field, but every Stat it returns to
     * clients shows 0 there (DataTree.copyStat): create2, exists, getData,
     * setData, getChildren2.
     */
    static void extendedStat() throws Exception {
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath("/curator/ext");
        Map<String, CreateMode> modes = new LinkedHashMap<>();
        modes.put("/curator/ext/container", CreateMode.CONTAINER);
        modes.put("/curator/ext/ttl", CreateMode.PERSISTENT_WITH_TTL);
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, CreateMode> m : modes.entrySet()) {
            String p = m.getKey();
            Stat created = new Stat();
            if (m.getValue() == CreateMode.CONTAINER) {
                c.create().storingStatIn(created).withMode(CreateMode.CONTAINER).forPath(p);
            } else {
                c.create().withTtl(60_000).storingStatIn(created).withMode(m.getValue()).forPath(p);
            }
            c.create().forPath(p + "/child"); // keeps it from the container manager
            Stat got = new Stat();
            c.getData().storingStatIn(got).forPath(p);
            Map<String, Stat> stats = new LinkedHashMap<>();
            stats.put("create2", created);
            stats.put("exists", c.checkExists().forPath(p));
            stats.put("getData", got);
            stats.put("setData", c.setData().forPath(p, b("v")));
            Stat kids = new Stat();
            c.getChildren().storingStatIn(kids).forPath(p);
            stats.put("getChildren2", kids);
            for (Map.Entry<String, Stat> e : stats.entrySet()) {
                long owner = e.getValue().getEphemeralOwner();
                if (owner != 0) {
                    bad.add(m.getValue() + " " + e.getKey() + " ephemeralOwner=0x" + Long.toHexString(owner));
                }
            }
        }
        check(bad.isEmpty(), "want ephemeralOwner 0, got " + bad);
    }

    /**
     * Watches survive a lost connection (same session): the client reconnects
     * through a proxy and re-registers its watches with SetWatches2; changes
     * made while it was away fire its one-shot data, exist and child
     * watches; a persistent recursive watch keeps firing afterwards and stops
     * after removeWatches.
     */
    static void reconnectWatches() throws Exception {
        CuratorFramework direct = client();
        String root = "/curator/rw";
        direct.create().creatingParentsIfNeeded().forPath(root + "/a", b("1"));
        direct.create().forPath(root + "/deep");
        try (Proxy proxy = new Proxy(connect)) {
            CuratorFramework c = client(proxy.address(), null);
            BlockingQueue<ConnectionState> states = new LinkedBlockingQueue<>();
            c.getConnectionStateListenable().addListener((cl, st) -> states.add(st));
            BlockingQueue<String> oneShot = new LinkedBlockingQueue<>();
            BlockingQueue<String> recursive = new LinkedBlockingQueue<>();
            Watcher w = e -> {
                if (e.getType() != Watcher.Event.EventType.None) {
                    oneShot.add(e.getType() + " " + e.getPath());
                }
            };
            Watcher rw = e -> {
                if (e.getType() != Watcher.Event.EventType.None) {
                    recursive.add(e.getType() + " " + e.getPath());
                }
            };
            c.getData().usingWatcher(w).forPath(root + "/a");
            check(c.checkExists().usingWatcher(w).forPath(root + "/b") == null, "/b exists");
            c.getChildren().usingWatcher(w).forPath(root);
            c.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(rw).forPath(root + "/deep");
            long sid = c.getZookeeperClient().getZooKeeper().getSessionId();

            proxy.pause();
            expectState(states, ConnectionState.SUSPENDED);
            direct.setData().forPath(root + "/a", b("2"));
            direct.create().forPath(root + "/b");
            direct.create().forPath(root + "/deep/during");
            proxy.resume();
            expectState(states, ConnectionState.RECONNECTED);
            check(c.getZookeeperClient().getZooKeeper().getSessionId() == sid, "reconnected with a new session");

            Set<String> got = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                String e = oneShot.poll(5, TimeUnit.SECONDS);
                check(e != null, "one-shot watch events after reconnect: " + got + ", want 3");
                got.add(e);
            }
            Set<String> want = new HashSet<>(Arrays.asList("NodeDataChanged " + root + "/a",
                    "NodeCreated " + root + "/b", "NodeChildrenChanged " + root));
            check(got.equals(want), "events " + got + ", want " + want);

            direct.create().forPath(root + "/deep/after");
            direct.setData().forPath(root + "/deep/after", b("x"));
            expect(recursive, "NodeCreated " + root + "/deep/after");
            expect(recursive, "NodeDataChanged " + root + "/deep/after");
            check(recursive.isEmpty(), "extra recursive watch events " + recursive);

            c.watchers().remove(rw).forPath(root + "/deep");
            expect(recursive, "PersistentWatchRemoved " + root + "/deep"); // from the client library
            direct.create().forPath(root + "/deep/removed");
            direct.setData().forPath(root + "/a", b("3"));
            Thread.sleep(300);
            check(recursive.isEmpty(), "events after removeWatches: " + recursive);
            check(oneShot.isEmpty(), "one-shot watch fired twice: " + oneShot);
        }
    }

    static void expectState(BlockingQueue<ConnectionState> states, ConnectionState want) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        List<ConnectionState> seen = new ArrayList<>();
        while (System.currentTimeMillis() < deadline) {
            ConnectionState s = states.poll(100, TimeUnit.MILLISECONDS);
            if (s == want) {
                return;
            }
            if (s != null) {
                seen.add(s);
            }
        }
        throw new AssertionError("no " + want + " state within 10s (saw " + seen + ")");
    }

    /** A loopback TCP proxy whose connections can be cut. */
    static class Proxy implements AutoCloseable {
        final java.net.ServerSocket server;
        final String upstreamHost;
        final int upstreamPort;
        final List<java.net.Socket> open = Collections.synchronizedList(new ArrayList<>());
        volatile boolean paused;

        Proxy(String upstream) throws Exception {
            String hp = upstream.split(",")[0];
            upstreamHost = hp.substring(0, hp.lastIndexOf(':'));
            upstreamPort = Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1));
            server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::acceptLoop, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        String address() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    java.net.Socket down = server.accept();
                    if (paused) {
                        down.close();
                        continue;
                    }
                    java.net.Socket up = new java.net.Socket(upstreamHost, upstreamPort);
                    open.add(down);
                    open.add(up);
                    pump(down, up);
                    pump(up, down);
                } catch (Exception e) {
                    // closed
                }
            }
        }

        void pump(java.net.Socket from, java.net.Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65536];
                try {
                    java.io.InputStream in = from.getInputStream();
                    java.io.OutputStream out = to.getOutputStream();
                    for (int n; (n = in.read(buf)) > 0;) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (Exception e) {
                    // cut
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        /** Cuts every connection and refuses new ones until resume. */
        void pause() {
            paused = true;
            synchronized (open) {
                for (java.net.Socket s : open) {
                    closeQuietly(s);
                }
                open.clear();
            }
        }

        void resume() {
            paused = false;
        }

        static void closeQuietly(java.net.Socket s) {
            try {
                s.close();
            } catch (Exception e) {
                // ignore
            }
        }

        @Override
        public void close() throws Exception {
            server.close();
            pause();
        }
    }

    /** CREATOR_ALL_ACL with digest auth: others get NoAuth; getACL shows the digest id. */
    static void digestACL() throws Exception {
        CuratorFramework owner = client("alice:secret");
        CuratorFramework anon = client();
        CuratorFramework wrong = client("alice:wrong");
        owner.create().creatingParentsIfNeeded().forPath("/curator/acl");
        String path = "/curator/acl/secret";
        owner.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath(path, b("hidden"));
        check("hidden".equals(s(owner.getData().forPath(path))), "owner cannot read");
        owner.setData().forPath(path, b("hidden2"));

        for (CuratorFramework other : new CuratorFramework[] {anon, wrong}) {
            try {
                other.getData().forPath(path);
                throw new AssertionError("read without the right auth");
            } catch (KeeperException.NoAuthException e) {
                // expected
            }
            try {
                other.setData().forPath(path, b("x"));
                throw new AssertionError("write without the right auth");
            } catch (KeeperException.NoAuthException e) {
                // expected
            }
            try {
                other.create().forPath(path + "/child");
                throw new AssertionError("create child without the right auth");
            } catch (KeeperException.NoAuthException e) {
                // expected
            }
        }
        check(anon.checkExists().forPath(path) != null, "exists needs no permission");

        List<ACL> acl = owner.getACL().forPath(path);
        String id = DigestAuthenticationProvider.generateDigest("alice:secret");
        check(acl.size() == 1, "ACL " + acl);
        check(acl.get(0).getId().getScheme().equals("digest") && acl.get(0).getId().getId().equals(id)
                && acl.get(0).getPerms() == ZooDefs.Perms.ALL, "ACL " + acl + ", want digest " + id + " ALL");

        // Creating with CREATOR_ALL_ACL needs an authenticated id.
        try {
            anon.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/curator/acl/anon");
            throw new AssertionError("CREATOR_ALL_ACL accepted without auth");
        } catch (KeeperException.InvalidACLException e) {
            // expected
        }
        owner.delete().forPath(path);
    }
}
