// KdchaJavaClient drives the JDK's own Kerberos stack (JAAS Krb5LoginModule,
// sun.security.krb5 and JGSS) against a KDC, as a Java application would.
// It is run by cmd/kdcha/java_test.go with the JDK 11+ source launcher:
//
//   java -Djava.security.krb5.conf=krb5.conf KdchaJavaClient.java \
//       --principal user@DEV.KDCHA.TEST --password-stdin \
//       --service HTTP@web.example.com --name-type hostbased --deleg \
//       --accept-keytab web.keytab --accept-principal HTTP/web.example.com@DEV.KDCHA.TEST
//
// Steps, each printing an "OK ..." line the Go test checks:
//   1. JAAS login (AS exchange with pre-authentication), by password read
//      from stdin or from a keytab; prints the TGT's flags. With --renew the
//      TGT is then renewed (KerberosTicket.refresh: TGS with RENEW).
//   2. Inside Subject.doAs, GSSContext.initSecContext once for the service
//      (TGS exchange; with --deleg also the TGS exchange for a FORWARDED TGT,
//      which Java checks bit by bit in KrbKdcRep.check); prints the service
//      ticket Java stored in the Subject.
//   3. With --accept-keytab, the service side: a keytab login for the
//      service, acceptSecContext on the token (the ticket decrypts with the
//      service key, the authenticator names the user) and, if delegation was
//      requested, a TGS exchange with the delegated (forwarded) TGT.
// Any failure prints "FAIL <exception>" with its cause chain and exits 1;
// a failed login exits 2 so the caller can tell the two apart.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import com.sun.security.jgss.ExtendedGSSContext;
import com.sun.security.jgss.InquireType;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.kerberos.KerberosTicket;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSException;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.Oid;

public class KdchaJavaClient {
    static final String KRB5_OID = "1.2.840.113554.1.2.2";
    static final String KRB5_PRINCIPAL_NAME_OID = "1.2.840.113554.1.2.2.1";

    // The ticket flag names, in RFC 4120 bit order.
    static final String[] FLAG_NAMES = {
        "reserved", "forwardable", "forwarded", "proxiable", "proxy", "may-postdate",
        "postdated", "invalid", "renewable", "initial", "pre-authent", "hw-authent",
        "transited-policy-checked", "ok-as-delegate",
    };

    public static void main(String[] args) {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--password-stdin") || a.equals("--deleg") || a.equals("--debug")
                    || a.equals("--renew")) {
                opt.put(a, "true");
            } else if (a.startsWith("--") && i + 1 < args.length) {
                opt.put(a, args[++i]);
            } else {
                System.out.println("FAIL usage: unexpected argument " + a);
                System.exit(64);
            }
        }
        String principal = opt.get("--principal");
        String service = opt.get("--service");
        if (principal == null || service == null
                || (opt.containsKey("--password-stdin") == opt.containsKey("--keytab"))) {
            System.out.println("FAIL usage: --principal P (--password-stdin | --keytab F) --service S"
                    + " [--name-type hostbased|principal] [--deleg]"
                    + " [--accept-keytab F --accept-principal P] [--renew] [--debug]");
            System.exit(64);
        }
        boolean debug = opt.containsKey("--debug");

        Subject client;
        try {
            char[] password = null;
            if (opt.containsKey("--password-stdin")) {
                BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                String line = r.readLine();
                password = (line == null ? "" : line).toCharArray();
            }
            client = login(principal, password, opt.get("--keytab"), true, debug);
        } catch (Exception e) {
            fail("LOGIN", e);
            System.exit(2);
            return;
        }
        KerberosTicket tgt = findTicket(client, true, null);
        if (tgt == null) {
            System.out.println("FAIL LOGIN: no TGT in the Subject");
            System.exit(1);
        }
        System.out.println("OK LOGIN client=" + tgt.getClient().getName() + " server="
                + tgt.getServer().getName() + " flags=" + flags(tgt) + " lifetime="
                + (tgt.getEndTime().getTime() - tgt.getStartTime().getTime()) / 1000 + "s"
                + (tgt.getRenewTill() == null ? ""
                        : " renewable-for=" + (tgt.getRenewTill().getTime() - tgt.getStartTime().getTime()) / 1000 + "s"));

        if (opt.containsKey("--renew")) {
            // KerberosTicket.refresh sends a TGS-REQ with RENEW and
            // RENEWABLE and replaces the ticket in place.
            try {
                long authTime = tgt.getAuthTime().getTime();
                tgt.refresh();
                System.out.println("OK RENEW server=" + tgt.getServer().getName() + " flags=" + flags(tgt)
                        + " authtime-kept=" + (tgt.getAuthTime().getTime() == authTime));
            } catch (Exception e) {
                fail("RENEW", e);
                System.exit(1);
            }
        }

        try {
            GSSManager mgr = GSSManager.getInstance();
            Oid krb5 = new Oid(KRB5_OID);
            Oid nameType = "hostbased".equals(opt.getOrDefault("--name-type", "principal"))
                    ? GSSName.NT_HOSTBASED_SERVICE : new Oid(KRB5_PRINCIPAL_NAME_OID);
            boolean deleg = opt.containsKey("--deleg");

            byte[] token = Subject.doAs(client, (PrivilegedExceptionAction<byte[]>) () -> {
                GSSName target = mgr.createName(service, nameType);
                GSSContext ctx = mgr.createContext(target, krb5, null, GSSContext.DEFAULT_LIFETIME);
                ctx.requestMutualAuth(false);
                ctx.requestCredDeleg(deleg);
                byte[] t = ctx.initSecContext(new byte[0], 0, 0);
                System.out.println("OK INIT target=" + ctx.getTargName() + " established="
                        + ctx.isEstablished() + " deleg=" + ctx.getCredDelegState()
                        + " token=" + t.length + "B");
                ctx.dispose();
                return t;
            });
            // Java keeps the service ticket it obtained in the Subject.
            KerberosTicket st = findTicket(client, false, tgt);
            if (st == null) {
                throw new IllegalStateException("no service ticket in the Subject after initSecContext");
            }
            System.out.println("OK TICKET server=" + st.getServer().getName() + " flags=" + flags(st)
                    + " session-enctype=" + st.getSessionKeyType());

            String acceptKeytab = opt.get("--accept-keytab");
            if (acceptKeytab != null) {
                accept(mgr, krb5, token, acceptKeytab, opt.get("--accept-principal"), service, nameType, debug);
            }
        } catch (Exception e) {
            fail("GSS", e);
            System.exit(1);
        }
        System.out.println("OK DONE");
    }

    // accept plays the service: it logs in from its keytab (no AS exchange:
    // isInitiator=false), accepts the initiator's token and, when the client
    // delegated, uses the forwarded TGT to get a ticket as the client.
    static void accept(GSSManager mgr, Oid krb5, byte[] token, String keytab, String svcPrincipal,
            String service, Oid nameType, boolean debug) throws Exception {
        Subject svc = login(svcPrincipal, null, keytab, false, debug);
        Subject.doAs(svc, (PrivilegedExceptionAction<Void>) () -> {
            GSSName me = mgr.createName(svcPrincipal, new Oid(KRB5_PRINCIPAL_NAME_OID));
            GSSCredential cred = mgr.createCredential(me, GSSCredential.INDEFINITE_LIFETIME, krb5,
                    GSSCredential.ACCEPT_ONLY);
            GSSContext actx = mgr.createContext(cred);
            byte[] out = actx.acceptSecContext(token, 0, token.length);
            if (!actx.isEstablished()) {
                throw new IllegalStateException("acceptor context not established after one token");
            }
            GSSCredential delegated = actx.getCredDelegState() ? actx.getDelegCred() : null;
            System.out.println("OK ACCEPT src=" + actx.getSrcName() + " deleg=" + actx.getCredDelegState()
                    + " delegated-cred=" + (delegated == null ? "none" : delegated.getName().toString())
                    + " ticket-flags=" + ticketFlags(actx) + " reply=" + (out == null ? 0 : out.length) + "B");
            if (delegated != null) {
                // A TGS exchange with the forwarded TGT, as a web server
                // acting for its user would make.
                GSSContext dctx = mgr.createContext(mgr.createName(service, nameType), krb5, delegated,
                        GSSContext.DEFAULT_LIFETIME);
                dctx.requestMutualAuth(false);
                byte[] t = dctx.initSecContext(new byte[0], 0, 0);
                dctx.dispose();
                // The service accepts that ticket too: it was issued from a
                // forwarded TGT, so it must say "forwarded" (RFC 4120 2.6).
                GSSContext a2 = mgr.createContext(cred);
                a2.acceptSecContext(t, 0, t.length);
                System.out.println("OK DELEGATED-USE src=" + a2.getSrcName() + " ticket-flags="
                        + ticketFlags(a2) + " token=" + t.length + "B");
                a2.dispose();
            }
            actx.dispose();
            return null;
        });
    }

    // login runs Krb5LoginModule with a programmatic JAAS configuration.
    static Subject login(String principal, char[] password, String keytab, boolean initiator, boolean debug)
            throws LoginException {
        Map<String, String> o = new HashMap<>();
        o.put("refreshKrb5Config", "true");
        o.put("storeKey", "true");
        o.put("useTicketCache", "false");
        o.put("isInitiator", Boolean.toString(initiator));
        o.put("principal", principal);
        o.put("debug", Boolean.toString(debug));
        if (keytab != null) {
            o.put("useKeyTab", "true");
            o.put("keyTab", keytab);
            o.put("doNotPrompt", "true");
        }
        Configuration conf = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {
                    new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
                            AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, o),
                };
            }
        };
        CallbackHandler cb = (Callback[] callbacks) -> {
            for (Callback c : callbacks) {
                if (c instanceof NameCallback) {
                    ((NameCallback) c).setName(principal);
                } else if (c instanceof PasswordCallback && password != null) {
                    ((PasswordCallback) c).setPassword(password);
                } else {
                    throw new UnsupportedCallbackException(c);
                }
            }
        };
        LoginContext lc = new LoginContext("kdcha", new Subject(), cb, conf);
        lc.login();
        return lc.getSubject();
    }

    // findTicket returns the TGT (tgt=true) or the first ticket other than
    // exclude.
    static KerberosTicket findTicket(Subject s, boolean tgt, KerberosTicket exclude) {
        Set<KerberosTicket> ts = s.getPrivateCredentials(KerberosTicket.class);
        for (KerberosTicket t : ts) {
            boolean isTGT = t.getServer().getName().startsWith("krbtgt/");
            if (tgt ? isTGT : (t != exclude && !isTGT)) {
                return t;
            }
        }
        return null;
    }

    // ticketFlags returns the flags of the ticket an acceptor context was
    // established with.
    static String ticketFlags(GSSContext ctx) throws GSSException {
        return flags((boolean[]) ((ExtendedGSSContext) ctx).inquireSecContext(InquireType.KRB5_GET_TKT_FLAGS));
    }

    static String flags(KerberosTicket t) {
        return flags(t.getFlags());
    }

    static String flags(boolean[] f) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < f.length && i < FLAG_NAMES.length; i++) {
            if (f[i]) {
                names.add(FLAG_NAMES[i]);
            }
        }
        return String.join(",", names);
    }

    static void fail(String step, Throwable e) {
        StringBuilder b = new StringBuilder("FAIL " + step + ": " + e);
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            b.append(" | caused by: ").append(c);
        }
        System.out.println(b);
        e.printStackTrace(System.out);
    }
}
