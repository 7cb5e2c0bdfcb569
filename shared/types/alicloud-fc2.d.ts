// @alicloud/fc2 ships no types; shared/cloud/fc-invoker.ts declares the part it uses.
declare module '@alicloud/fc2';
