/*
 * cluster.c: a hosted frontend that boots native nodes, and the nodes.
 *
 *	build/hosted/cluster [nodes=N] [image=PATH] [cpus=C] [mem=MIB]
 *	                     [callin=SECONDS] [nodeargs=ARGS] [stay]
 *	make run APP=cluster NODES=2
 *
 * One app, two roles, chosen by the arguments: with node= (what
 * node_boot passes) it is a node, which joins its frontend (node_join)
 * and lives until the frontend says bye; without, it is the frontend,
 * which must be the hosted build (a native instance has no QEMU to
 * start: node_boot says so).  The frontend boots N nodes of image
 * (default: this app's native image) on the virtual LAN, prints each
 * node's call-in and console, and once every node has called in, says
 * bye to them all and waits for their ends; it exits 0 if every node
 * called in and exited with status 0, else 1.  With stay it keeps them
 * running until Ctrl-C (which ends their QEMUs with it).  callin= is
 * how long a node has to call in (node_spec), nodeargs= what the nodes'
 * app is given besides node_join's three; a node given "mute" never
 * calls in (to see the frontend's limit at work: test/boot_cluster.sh).
 *
 *	app_main -> frontend: node_boot x N -> future_then(called in)
 *	         -> all called in: node_stop x N -> node_wait_all -> exit
 *	         -> node: node_join -> joined: print its ids -> ... "bye"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/node.h"
#include "ebb/runtime.h"
#include "tcp/netcfg.h"

const char app_usage[] = "[nodes=N] [image=PATH] [cpus=C] [mem=MIB] [callin=SECONDS]"
    " [nodeargs=ARGS] [stay]"
    "  (the frontend; a node gets node=N frontend=A ip=A/N from it)";

static struct {
	int want, called, failed, stay;
	struct node *node[NODE_MAX];
} fe;

static struct future joined;

/* ---- the node -------------------------------------------------------------- */

static void
node_joined(struct future *f, void *arg)
{
	uint32_t base;
	int num = (int)(uintptr_t)f->value;

	(void)arg;
	node_ids(num, &base);
	printf("cluster: node %d joined its frontend; global Ebb ids %u..%u are mine\n",
	    num, base, base + NODE_IDS - 1);
}

/* ---- the frontend ---------------------------------------------------------- */

static void
node_ended(struct node *n, int status)
{
	if (status != 0)
		fe.failed++;
	(void)n;
}

/* Every node has called in (or some never will): stop them all, then exit. */
static void
finish(void *arg)
{
	(void)arg;
	printf("cluster: %d of %d nodes called in\n", fe.called, fe.want);
	for (int i = 0; i < fe.want; i++)
		node_stop(fe.node[i], 10000);
	node_wait_all();
	printf("cluster: every node has ended%s\n", fe.failed ? ", not all well" : "");
	ebb_exit(fe.called == fe.want && fe.failed == 0 ? 0 : 1);
}

static void
called_in(struct future *f, void *arg)
{
	if (f->err == 0) {
		fe.called++;
	} else {
		printf("cluster: node %d did not call in: %s\n", node_num(arg), strerror(f->err));
		fe.failed++;
	}
	if (fe.called + fe.failed < fe.want)
		return;
	if (fe.stay && fe.failed == 0) {
		printf("cluster: all %d nodes are up; Ctrl-C ends them and me\n", fe.want);
		return;
	}
	spawn(finish, NULL);
}

static int
frontend(int argc, char **argv)
{
	struct node_spec spec = { .image = "build/native/cluster.elf32", .cpus = 1, .mem_mib = 64 };
	char why[256];

	fe.want = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "nodes=", 6) == 0)
			fe.want = atoi(a + 6);
		else if (strncmp(a, "image=", 6) == 0)
			spec.image = a + 6;
		else if (strncmp(a, "cpus=", 5) == 0)
			spec.cpus = atoi(a + 5);
		else if (strncmp(a, "mem=", 4) == 0)
			spec.mem_mib = atoi(a + 4);
		else if (strncmp(a, "callin=", 7) == 0)
			spec.callin_s = atoi(a + 7);
		else if (strncmp(a, "nodeargs=", 9) == 0)
			spec.args = a + 9;
		else if (strcmp(a, "stay") == 0)
			fe.stay = 1;
		else {
			printf("cluster: unknown argument \"%s\"; usage: cluster %s\n", a, app_usage);
			return 2;
		}
	}
	if (fe.want < 1 || fe.want > NODE_MAX || spec.cpus < 1 || spec.mem_mib < 4 ||
	    spec.callin_s < 0) {
		printf("cluster: nodes must be 1..%d, cpus at least 1, mem at least 4, callin"
		    " not negative\n", NODE_MAX);
		return 2;
	}
	node_on_exit(node_ended);
	for (int i = 0; i < fe.want; i++) {
		if ((fe.node[i] = node_boot(&spec, why, sizeof why)) == NULL) {
			printf("cluster: node_boot: %s\n", why);
			for (int k = 0; k < i; k++)
				node_stop(fe.node[k], 0);
			node_wait_all();
			return 1;
		}
		future_then(node_called_in(fe.node[i]), called_in, fe.node[i]);
	}
	return EBB_RUN;
}

int
app_main(int argc, char **argv)
{
	char why[256];
	int err;

	future_init(&joined);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "mute") == 0) {
			printf("cluster: mute: not calling in\n");
			return EBB_RUN;
		}
	err = node_join(argc, argv, &joined, why, sizeof why);
	if (err == ENOENT)
		return frontend(argc, argv);
	if (err != 0) {
		printf("cluster: %s\n", why);
		return 2;
	}
	future_then(&joined, node_joined, NULL);
	return EBB_RUN;
}
