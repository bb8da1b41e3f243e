build/ctl/main.o: ctl/main.c ctl/ctl.h
ctl/ctl.h:
