// SLB 2014-05-15 actions: domain extensions, the SNI certificates of an HTTPS listener (reference §6.7).
import { ApiError } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { DomainExtensionRecord } from '../state';
import { findListener, findLoadBalancer } from './common';

const DOMAIN = /^(\*\.)?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$/;

function requireCertificate(ctx: ActionContext, id: string): void {
  if (
    !ctx.state.serverCertificates.some((c) => c.serverCertificateId === id && c.regionId === ctx.regionId)
  ) {
    throw new ApiError(
      'InvalidParameter.ServerCertificateId',
      'The specified ServerCertificateId does not exist.',
    );
  }
}

function findExtension(ctx: ActionContext): DomainExtensionRecord {
  const id = ctx.params.requiredStr('DomainExtensionId');
  const d = ctx.state.domainExtensions.find((x) => x.domainExtensionId === id && x.regionId === ctx.regionId);
  if (!d)
    throw new ApiError(
      'InvalidParameter.DomainExtensionId',
      'The specified DomainExtensionId does not exist.',
    );
  return d;
}

function createDomainExtension(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.requiredInt('ListenerPort', { min: 1, max: 65535 });
  const domain = p.requiredStr('Domain');
  const certificateId = p.requiredStr('ServerCertificateId');
  if (!DOMAIN.test(domain)) throw new ApiError('InvalidParameter.Domain', 'The specified Domain is invalid.');
  findListener(ctx, lb.loadBalancerId, port, 'https');
  requireCertificate(ctx, certificateId);
  const onListener = ctx.state.domainExtensions.filter(
    (d) => d.loadBalancerId === lb.loadBalancerId && d.listenerPort === port,
  );
  if (onListener.some((d) => d.domain.toLowerCase() === domain.toLowerCase())) {
    throw new ApiError('InvalidParameter.Domain', 'The specified Domain exists.');
  }
  // 3 per listener by default; the reference names no code, QuotaExceeded.DomainExtension is our choice.
  if (onListener.length >= ctx.limits.domainExtensionsPerListener) {
    throw new ApiError(
      'QuotaExceeded.DomainExtension',
      `A listener has at most ${ctx.limits.domainExtensionsPerListener} domain extensions.`,
    );
  }
  const d: DomainExtensionRecord = {
    domainExtensionId: ctx.newId('de-bp1'),
    regionId: ctx.regionId,
    loadBalancerId: lb.loadBalancerId,
    listenerPort: port,
    domain,
    serverCertificateId: certificateId,
  };
  ctx.state.domainExtensions.push(d);
  return { DomainExtensionId: d.domainExtensionId, ListenerPort: port };
}

function describeDomainExtensions(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.requiredInt('ListenerPort', { min: 1, max: 65535 });
  const id = p.str('DomainExtensionId');
  const found = ctx.state.domainExtensions.filter(
    (d) =>
      d.loadBalancerId === lb.loadBalancerId &&
      d.listenerPort === port &&
      (id === undefined || d.domainExtensionId === id),
  );
  return {
    DomainExtensions: {
      DomainExtension: found.map((d) => ({
        DomainExtensionId: d.domainExtensionId,
        Domain: d.domain,
        ServerCertificateId: d.serverCertificateId,
      })),
    },
  };
}

function describeDomainExtensionAttribute(ctx: ActionContext): Record<string, unknown> {
  const d = findExtension(ctx);
  return {
    DomainExtensionId: d.domainExtensionId,
    Domain: d.domain,
    LoadBalancerId: d.loadBalancerId,
    ListenerPort: d.listenerPort,
    ServerCertificateId: d.serverCertificateId,
  };
}

function setDomainExtensionAttribute(ctx: ActionContext): Record<string, unknown> {
  const d = findExtension(ctx);
  const certificateId = ctx.params.requiredStr('ServerCertificateId');
  requireCertificate(ctx, certificateId);
  d.serverCertificateId = certificateId;
  return {};
}

function deleteDomainExtension(ctx: ActionContext): Record<string, unknown> {
  const d = findExtension(ctx);
  ctx.state.domainExtensions = ctx.state.domainExtensions.filter((x) => x !== d);
  return {};
}

export const domainExtensionsActions: ActionTable = {
  CreateDomainExtension: write(createDomainExtension),
  DescribeDomainExtensions: read(describeDomainExtensions),
  DescribeDomainExtensionAttribute: read(describeDomainExtensionAttribute),
  SetDomainExtensionAttribute: write(setDomainExtensionAttribute),
  DeleteDomainExtension: write(deleteDomainExtension),
};
