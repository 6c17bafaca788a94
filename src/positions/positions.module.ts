import { Module } from '@nestjs/common';
import { PositionRepository } from './persistence/position.repository';

@Module({ providers: [PositionRepository], exports: [PositionRepository] })
export class PositionsModule {}
