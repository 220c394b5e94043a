/*
 * main.c: the cluster app: a hosted frontend that boots native nodes,
 * and the nodes.  One app, two roles, chosen by the arguments.
 *
 *	build/hosted/cluster [nodes=N] [image=PATH] [cpus=C] [mem=MIB]
 *	    [callin=SECONDS] [nodeargs=ARGS] [msgs=M] [xmsgs=X] [stay | bench | share=DIR]
 *	    [plain [fwd=PROTO:PORT...]] [ip=A.B.C.D/N] [idmap=etcd:A.B.C.D:PORT] [site=S]
 *	    [putid=ID:TEXT | getid=ID:TEXT]
 *	make run APP=cluster NODES=2
 *
 * With node= (what node_boot passes) it is a node: it joins its
 * frontend (node_join) and then does what the frontend asks
 * (member.c).  Without, it is the frontend (front.c), which must be
 * the hosted build (a native instance has no QEMU to start: node_boot
 * says so).  The frontend boots N nodes (2) of image (this app's native
 * image) on the virtual LAN, and once each has called in and said
 * hello over the messenger, streams M items (10,000) to each and has
 * each stream M back, and each node stream X items (1,000) to every
 * other node, every item checked in order and whole; node 1 sets a
 * global id in the id map and the last node reads it back; a
 * distributed counter (CL_COUNT, an Ebb on every node) counts what each
 * received, and the frontend sums it.  Then bye to every node; the exit
 * status is 0 if all of that held.  A node that ends early is reported
 * and the others go on without it (status 1).  stay: keep the nodes up
 * after their call-in until Ctrl-C, doing nothing more.  callin= and
 * nodeargs= as node_spec; a node given "mute" never calls in.  ip=
 * addresses the --tap interface; idmap=etcd: keeps the id map in etcd,
 * site= picks the frontend's share of the ranges; putid= has node 1 set
 * a given id and the last node read it, getid= the last node read it
 * (README.md, "Several hosts").  plain: the nodes are
 * another app's (image=, nodeargs=), the frontend only boots them,
 * serves share=DIR and stays (front.c); fwd= forwards their ports to
 * the host's loopback (ebb/node.h).  share=DIR:
 * instead of the streams, every node reads the host's files beneath DIR
 * through the file Ebb (ebb/file.h) and reports their sizes and
 * checksums, which the frontend checks against its own reading (share.c).
 *
 * Files: cluster.h (the Ebbs, the messages), share.c (share=), stream.c (checked
 * streams), front.c (the frontend), member.c (a node), this one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "ebb/event.h"
#include "ebb/runtime.h"

const char app_usage[] = "[nodes=N] [image=PATH] [cpus=C] [mem=MIB] [callin=SECONDS]"
    " [nodeargs=ARGS] [msgs=M] [xmsgs=X] [lan=tap:BRIDGE | ip=A.B.C.D/N] [idmap=etcd:A.B.C.D:PORT]"
    " [site=S] [putid=ID:TEXT | getid=ID:TEXT] [stay | bench | share=DIR] [plain [fwd=PROTO:PORT...]]"
    "  (the frontend; a node gets node=N frontend=A ip=A/N from it)";

static struct future joined;

static void
node_joined(struct future *f, void *arg)
{
	(void)arg;
	if (f->err == 0)
		cl_member_joined((int)(uintptr_t)f->value);
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
		return cl_frontend(argc, argv);
	if (err != 0) {
		printf("cluster: %s\n", why);
		return 2;
	}
	future_then(&joined, node_joined, NULL);
	return EBB_RUN;
}
