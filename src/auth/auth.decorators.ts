import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Permission, Principal } from './permission';

export const PUBLIC_KEY = 'auth:public';
export const PERMISSIONS_KEY = 'auth:permissions';

/** The route needs no API key (health, metrics, docs, metadata). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** The caller's key must carry every listed permission. */
export const RequirePermissions = (...permissions: Permission[]) => SetMetadata(PERMISSIONS_KEY, permissions);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
