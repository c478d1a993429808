/*
 * mitdump prints what MIT krb5's own library reads from the krb5.conf files
 * in KRB5_CONFIG, or from a keytab, in a line format the Go differential
 * tests (krb/mitdiff_test.go) produce from gokinit's parser and compare.
 *
 *   mitdump                  every relation, section and derived value
 *   mitdump -k KEYTAB PRINC ENCTYPE
 *                           krb5_kt_get_entry(PRINC, kvno 0, ENCTYPE)
 *
 * Strings are printed with bytes below 0x21, above 0x7e, '\\' and '/' as
 * \xHH.  Built by the tests with: cc mitdump.c -lkrb5 -lcom_err.
 */
#include <krb5.h>
#include <profile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exported by libkrb5 (libkrb5.exports) but not in krb5.h. */
krb5_error_code k5_parse_host_string(const char *address, int default_port,
                                     char **host_out, int *port_out);
krb5_error_code krb5_get_default_in_tkt_ktypes(krb5_context, krb5_enctype **);
krb5_error_code krb5_get_tgs_ktypes(krb5_context, krb5_const_principal,
                                    krb5_enctype **);

static void esc(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e || c == '\\' || c == '/')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void path(const char **names)
{
    int i;
    for (i = 0; names[i]; i++) {
        if (i)
            putchar('/');
        esc(names[i]);
    }
}

static int in_list(char **list, int n, const char *s)
{
    int i;
    for (i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return 1;
    return 0;
}

static void walk(profile_t prof, const char **names, int depth)
{
    char **rels = NULL, **subs = NULL, **vals = NULL;
    int i, j;

    if (depth > 30)
        return;
    if (depth > 0 && profile_get_relation_names(prof, names, &rels) == 0) {
        for (i = 0; rels[i]; i++) {
            int b, n;
            char *first = NULL;
            krb5_deltat d;
            names[depth] = rels[i];
            names[depth + 1] = NULL;
            if (profile_get_values(prof, names, &vals) == 0) {
                for (j = 0; vals[j]; j++) {
                    printf("R\t");
                    path(names);
                    printf("\t");
                    esc(vals[j]);
                    printf("\n");
                }
                first = vals[0];
                printf("B\t");
                path(names);
                if (profile_get_boolean(prof, names[0], names[1],
                                        depth > 1 ? names[2] : NULL, 0,
                                        &b) == 0 && depth <= 2)
                    printf("\t%d\n", b);
                else
                    printf("\t-\n");
                printf("I\t");
                path(names);
                if (depth <= 2 &&
                    profile_get_integer(prof, names[0], names[1],
                                        depth > 1 ? names[2] : NULL, 0,
                                        &n) == 0)
                    printf("\t%d\n", n);
                else
                    printf("\t-\n");
                printf("D\t");
                path(names);
                if (krb5_string_to_deltat(first, &d) == 0)
                    printf("\t%d\n", (int)d);
                else
                    printf("\t-\n");
                profile_free_list(vals);
                vals = NULL;
            }
        }
        profile_free_list(rels);
    }
    names[depth] = NULL;
    if (profile_get_subsection_names(prof, names, &subs) == 0) {
        for (i = 0; subs[i]; i++) {
            if (in_list(subs, i, subs[i]))
                continue;
            names[depth] = subs[i];
            names[depth + 1] = NULL;
            printf("S\t");
            path(names);
            printf("\n");
            walk(prof, names, depth + 1);
        }
        names[depth] = NULL;
        profile_free_list(subs);
    }
}

static void enctypes(const char *what, krb5_error_code ret, krb5_enctype *l)
{
    int i;
    printf("E\t%s\t", what);
    if (ret) {
        printf("-\n");
        return;
    }
    for (i = 0; l[i]; i++)
        printf(i ? " %d" : "%d", (int)l[i]);
    printf("\n");
    free(l);
}

static void servers(profile_t prof, const char *realm, const char *rel,
                    int dflport, const char *tag)
{
    const char *names[4] = { "realms", realm, rel, NULL };
    char **vals = NULL, *host;
    int i, port;

    if (profile_get_values(prof, names, &vals) != 0)
        return;
    for (i = 0; vals[i]; i++) {
        printf("%s\t", tag);
        esc(realm);
        printf("\t");
        esc(vals[i]);
        if (k5_parse_host_string(vals[i], dflport, &host, &port) == 0 &&
            host != NULL) {
            printf("\t");
            esc(host);
            printf("\t%d\n", port);
            free(host);
        } else {
            printf("\t-\n");
        }
    }
    profile_free_list(vals);
}

static int keytab(const char *ktname, const char *pname, const char *etype)
{
    krb5_context ctx;
    krb5_keytab kt;
    krb5_principal p;
    krb5_keytab_entry e;
    krb5_error_code ret;
    unsigned int i;

    if (krb5_init_context(&ctx))
        return 1;
    if (krb5_kt_resolve(ctx, ktname, &kt) || krb5_parse_name(ctx, pname, &p))
        return 1;
    ret = krb5_kt_get_entry(ctx, kt, p, 0, atoi(etype), &e);
    if (ret) {
        const char *m = krb5_get_error_message(ctx, ret);
        printf("KTERR\t%ld\t%s\n", (long)ret, m);
        return 0;
    }
    printf("KT\t%u\t%d\t", (unsigned)e.vno, (int)e.key.enctype);
    for (i = 0; i < e.key.length; i++)
        printf("%02x", e.key.contents[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    krb5_context ctx;
    krb5_error_code ret;
    profile_t prof;
    const char *names[40] = { NULL };
    char **realms = NULL;
    krb5_enctype *l;
    int i;

    if (argc == 5 && !strcmp(argv[1], "-k"))
        return keytab(argv[2], argv[3], argv[4]);
    ret = krb5_init_context(&ctx);
    if (ret) {
        printf("ERROR\t%s\n", error_message(ret));
        return 0;
    }
    if (krb5_get_profile(ctx, &prof))
        return 1;
    walk(prof, names, 0);
    ret = krb5_get_permitted_enctypes(ctx, &l);
    enctypes("permitted", ret, l);
    ret = krb5_get_default_in_tkt_ktypes(ctx, &l);
    enctypes("tkt", ret, l);
    ret = krb5_get_tgs_ktypes(ctx, NULL, &l);
    enctypes("tgs", ret, l);
    names[0] = "realms";
    names[1] = NULL;
    if (profile_get_subsection_names(prof, names, &realms) == 0) {
        for (i = 0; realms[i]; i++) {
            if (in_list(realms, i, realms[i]))
                continue;
            servers(prof, realms[i], "kdc", 88, "H");
            servers(prof, realms[i], "admin_server", 749, "A");
        }
        profile_free_list(realms);
    }
    profile_release(prof);
    krb5_free_context(ctx);
    return 0;
}
